import { ApiKeyScope, Email, Name, Password } from '@parley/contracts';
import { migrate, migrationState, redactUrl } from '@parley/db';
import {
  createApiKey,
  createUserAsOperator,
  operatorOrgContext,
  rotateCredentialEncryption,
  setInstanceAdmin,
  type ServiceContext,
} from '@parley/services';
import { z } from 'zod';
import { ConfigSchema, SECRET_SETTINGS, type Config } from '../config.js';
import { openConfiguredDatabase, openRuntime, type Runtime } from '../runtime.js';
import { parseOptions, required, UsageError } from './args.js';

const operator = (runtime: Runtime): ServiceContext => ({
  ...runtime.deps,
  actor: { type: 'system', label: 'cli' },
  clientIp: null,
});

function parseField<T>(schema: z.ZodType<T>, value: unknown, flag: string): T {
  const result = schema.safeParse(value);
  if (!result.success) throw new UsageError(`--${flag}: ${result.error.issues[0]?.message ?? 'invalid'}`);
  return result.data;
}

async function withRuntime<T>(config: Config, fn: (runtime: Runtime) => Promise<T>): Promise<T> {
  const runtime = await openRuntime(config);
  try {
    return await fn(runtime);
  } finally {
    await runtime.close();
  }
}

export async function migrateCommand(config: Config): Promise<void> {
  const database = await openConfiguredDatabase(config);
  try {
    const applied = await migrate(database.db);
    console.log(applied.length ? `Applied ${applied.join(', ')}` : 'The database is up to date.');
  } finally {
    await database.close();
  }
}

export async function userCreateCommand(config: Config, args: string[]): Promise<void> {
  const { values } = parseOptions(args, {
    email: { type: 'string' },
    name: { type: 'string' },
    organization: { type: 'string' },
    'instance-admin': { type: 'boolean', default: false },
  });
  const email = parseField(Email, required(values.email, 'email'), 'email');
  const name = parseField(Name, values.name ?? email.split('@')[0], 'name');
  const organizationName = parseField(Name, values.organization ?? `${name}'s organization`, 'organization');
  // Never a flag: it would land in shell history and the process list.
  const password = parseField(Password, process.env.PARLEY_USER_PASSWORD, 'password (PARLEY_USER_PASSWORD)');
  await withRuntime(config, async (runtime) => {
    const { user, organizationId } = await createUserAsOperator(operator(runtime), {
      email,
      name,
      organizationName,
      password,
      isInstanceAdmin: values['instance-admin'] === true,
    });
    console.log(`Created user ${user.email} (${user.id}) owning organization ${organizationId}.`);
  });
}

export async function apiKeyCreateCommand(config: Config, args: string[]): Promise<void> {
  const { values } = parseOptions(args, {
    organization: { type: 'string' },
    name: { type: 'string' },
    scopes: { type: 'string', default: 'admin' },
  });
  const organizationId = parseField(z.uuid(), required(values.organization, 'organization'), 'organization');
  const name = parseField(Name, values.name ?? 'cli', 'name');
  const scopes = parseField(z.array(ApiKeyScope).min(1), String(values.scopes ?? '').split(','), 'scopes');
  await withRuntime(config, async (runtime) => {
    const ctx = await operatorOrgContext(operator(runtime), organizationId);
    const key = await createApiKey(ctx, { name, scopes });
    console.log(
      `Created API key ${key.prefix}… with scopes ${key.scopes.join(', ')}. It is shown only now:\n\n${key.secret}\n`,
    );
  });
}

export async function adminCommand(config: Config, args: string[]): Promise<void> {
  const [verb, emailArg] = args;
  if ((verb !== 'grant' && verb !== 'revoke') || !emailArg)
    throw new UsageError('usage: parley admin grant|revoke <email>');
  const email = parseField(Email, emailArg, 'email');
  await withRuntime(config, async (runtime) => {
    const user = await setInstanceAdmin(operator(runtime), email, verb === 'grant');
    console.log(`${user.email} is ${user.isInstanceAdmin ? 'now' : 'no longer'} an instance administrator.`);
  });
}

/**
 * `parley credentials rotate`: after PARLEY_SECRET_KEY changed (the old one moved to
 * PARLEY_PREVIOUS_SECRET_KEYS), re-encrypts every stored credential with the new key. Exits 1 when some
 * could not be decrypted, naming them by id only.
 */
export async function credentialsRotateCommand(config: Config): Promise<number> {
  return withRuntime(config, async (runtime) => {
    const result = await rotateCredentialEncryption(operator(runtime));
    console.log(
      `Re-encrypted ${result.resealed} credential(s) with the current PARLEY_SECRET_KEY (key id ${result.keyId}).`,
    );
    if (result.failed.length === 0) {
      console.log('Every credential now uses the current key; PARLEY_PREVIOUS_SECRET_KEYS can be emptied.');
      return 0;
    }
    console.error(
      `${result.failed.length} credential(s) were sealed with a key that is not configured; add that secret to ` +
        'PARLEY_PREVIOUS_SECRET_KEYS and run this again:',
    );
    for (const f of result.failed) {
      console.error(`  ${f.id} (organization ${f.organizationId}, key id ${f.keyId})`);
    }
    return 1;
  });
}

function mask(key: string, value: unknown): string {
  if (value === undefined) return '(default)';
  if (SECRET_SETTINGS.has(key as keyof Config)) {
    const text = Array.isArray(value) ? value.join(',') : String(value);
    return text.length === 0 ? '(empty)' : `**** (${text.length} characters)`;
  }
  if (key === 'DATABASE_URL' || key === 'REDIS_URL') return redactUrl(String(value));
  return Array.isArray(value) ? value.join(',') : String(value);
}

/** Prints the effective configuration (secrets masked), the database and its migrations, and what is missing. */
export async function doctorCommand(
  config: Config,
  env: Record<string, string | undefined>,
): Promise<number> {
  console.log('Configuration (from the environment and .env):');
  for (const key of Object.keys(ConfigSchema.shape)) {
    const source = env[key] ? 'set' : 'default';
    console.log(`  ${key.padEnd(30)} ${mask(key, config[key as keyof Config]).padEnd(40)} ${source}`);
  }
  const problems: string[] = [];
  if (!config.PARLEY_SECRET_KEY && config.DATABASE_URL)
    problems.push('PARLEY_SECRET_KEY is required with DATABASE_URL');
  if (!config.PARLEY_PUBLIC_URL)
    problems.push('PARLEY_PUBLIC_URL is not set: carriers and invitation links need a public https URL');
  let database: Awaited<ReturnType<typeof openConfiguredDatabase>> | undefined;
  try {
    database = await openConfiguredDatabase(config);
    const state = await migrationState(database.db);
    console.log(`\nDatabase: ${database.kind} at ${database.location}`);
    console.log(
      `  migrations applied: ${state.applied.length}, pending: ${state.pending.length ? state.pending.join(', ') : 'none'}`,
    );
    if (state.pending.length)
      problems.push('migrations are pending: run `parley migrate` (serve also applies them)');
  } catch (error) {
    problems.push(`database: ${(error as Error).message}`);
  } finally {
    await database?.close();
  }
  console.log(
    problems.length
      ? `\nMissing or wrong:\n${problems.map((p) => `  - ${p}`).join('\n')}`
      : '\nNothing missing.',
  );
  return problems.some((p) => p.startsWith('database') || p.startsWith('PARLEY_SECRET_KEY')) ? 1 : 0;
}
