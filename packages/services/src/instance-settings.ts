import { DEFAULT_INSTANCE_SETTINGS, InstanceSettings } from '@parley/contracts';
import { eq, instanceSettings, type Executor } from '@parley/db';

const SETTINGS_KEY = 'settings';

export async function readInstanceSettings(db: Executor): Promise<InstanceSettings> {
  const [row] = await db.select().from(instanceSettings).where(eq(instanceSettings.key, SETTINGS_KEY));
  // Stored settings are merged over the defaults, so settings added later get their default.
  const parsed = InstanceSettings.safeParse({
    ...DEFAULT_INSTANCE_SETTINGS,
    ...((row?.value as object) ?? {}),
  });
  return parsed.success ? parsed.data : DEFAULT_INSTANCE_SETTINGS;
}

export async function writeInstanceSettings(db: Executor, settings: InstanceSettings): Promise<void> {
  await db
    .insert(instanceSettings)
    .values({ key: SETTINGS_KEY, value: settings })
    .onConflictDoUpdate({ target: instanceSettings.key, set: { value: settings, updatedAt: new Date() } });
}

export async function isSignupEnabled(db: Executor, configured: boolean): Promise<boolean> {
  const settings = await readInstanceSettings(db);
  return settings.signupEnabled ?? configured;
}
