import path from 'node:path';
import { migrate, migrationState, openDatabase, type DatabaseHandle } from '@parley/db';
import { SecretBox, type ServiceDeps } from '@parley/services';
import type { Config } from './config.js';
import { publicUrlOf } from './config.js';
import { resolveSecret, type ResolvedSecret } from './secret.js';

export interface Runtime {
  config: Config;
  database: DatabaseHandle;
  deps: ServiceDeps;
  secret: ResolvedSecret;
  close(): Promise<void>;
}

export function openConfiguredDatabase(config: Config): Promise<DatabaseHandle> {
  return openDatabase({
    url: config.DATABASE_URL,
    dataDir: path.resolve(config.PARLEY_DATA_DIR, 'db'),
    maxConnections: config.DATABASE_POOL_SIZE,
  });
}

/** Opens the database, applies migrations and assembles what service verbs need. */
export async function openRuntime(
  config: Config,
  options: { port?: number; migrate?: boolean } = {},
): Promise<Runtime> {
  const secret = resolveSecret(config);
  const database = await openConfiguredDatabase(config);
  try {
    if (options.migrate !== false) await migrate(database.db);
  } catch (error) {
    await database.close();
    throw error;
  }
  const deps: ServiceDeps = {
    db: database.db,
    secretBox: new SecretBox(secret.secret, config.PARLEY_PREVIOUS_SECRET_KEYS),
    publicUrl: publicUrlOf(config, options.port),
    signupEnabled: config.PARLEY_SIGNUP_ENABLED,
    sessionTtlMs: config.PARLEY_SESSION_TTL_HOURS * 3600_000,
  };
  return { config, database, deps, secret, close: () => database.close() };
}

export async function readiness(database: DatabaseHandle): Promise<{ ready: boolean; reason?: string }> {
  try {
    await database.ping();
  } catch {
    // No driver message here: it can name internal hosts. `parley doctor` tells the operator more.
    return { ready: false, reason: 'database unreachable' };
  }
  const state = await migrationState(database.db);
  return state.pending.length === 0
    ? { ready: true }
    : { ready: false, reason: `migrations pending: ${state.pending.join(', ')}` };
}
