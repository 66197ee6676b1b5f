import { DEFAULT_INSTANCE_SETTINGS, InstanceSettings } from '@parley/contracts';
import { eq, instanceSettings, sql, type Executor } from '@parley/db';

const SETTINGS_KEY = 'settings';

/**
 * The instance settings: what is stored, over the defaults. Each setting is checked on its own, so a
 * setting added later gets its default and one stored value gone bad falls back alone instead of
 * resetting the rest (which could, say, quietly reopen sign-up).
 */
export async function readInstanceSettings(db: Executor): Promise<InstanceSettings> {
  const [row] = await db.select().from(instanceSettings).where(eq(instanceSettings.key, SETTINGS_KEY));
  const stored = (row?.value ?? {}) as Record<string, unknown>;
  const settings: Record<string, unknown> = { ...DEFAULT_INSTANCE_SETTINGS };
  for (const [key, schema] of Object.entries(InstanceSettings.shape)) {
    if (!(key in stored)) continue;
    const parsed = schema.safeParse(stored[key]);
    if (parsed.success) settings[key] = parsed.data;
  }
  return settings as InstanceSettings;
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
