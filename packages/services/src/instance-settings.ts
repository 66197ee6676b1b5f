import { DEFAULT_INSTANCE_SETTINGS, InstanceSettings } from '@parley/contracts';
import { eq, instanceSettings, sql, type Executor } from '@parley/db';

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

/**
 * Applies a partial update in one statement (jsonb `||` merges over what is stored), so two
 * administrators changing different settings at once do not undo each other.
 */
export async function mergeInstanceSettings(
  db: Executor,
  patch: Partial<InstanceSettings>,
  now: Date,
): Promise<void> {
  await db
    .insert(instanceSettings)
    .values({ key: SETTINGS_KEY, value: patch, updatedAt: now })
    .onConflictDoUpdate({
      target: instanceSettings.key,
      set: { value: sql`${instanceSettings.value} || excluded.value`, updatedAt: now },
    });
}

export async function isSignupEnabled(db: Executor, configured: boolean): Promise<boolean> {
  const settings = await readInstanceSettings(db);
  return settings.signupEnabled ?? configured;
}
