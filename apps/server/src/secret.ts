import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Config } from './config.js';

export interface ResolvedSecret {
  secret: string;
  source: 'environment' | 'file' | 'generated';
  file?: string;
}

/**
 * PARLEY_SECRET_KEY from the environment, else (embedded default only) from PARLEY_DATA_DIR/secret,
 * generated there with mode 0600 on first start. A shared PostgreSQL deployment must set it, because
 * every process has to use the same key.
 */
export function resolveSecret(config: Config): ResolvedSecret {
  if (config.PARLEY_SECRET_KEY) return { secret: config.PARLEY_SECRET_KEY, source: 'environment' };
  if (config.DATABASE_URL) {
    throw new Error(
      'PARLEY_SECRET_KEY: required when DATABASE_URL is set (all processes must share it); try: openssl rand -base64 48',
    );
  }
  const file = path.resolve(config.PARLEY_DATA_DIR, 'secret');
  if (existsSync(file)) {
    const secret = readFileSync(file, 'utf8').trim();
    if (secret.length < 32)
      throw new Error(`${file}: the stored secret is too short; delete it only if no credentials are stored`);
    return { secret, source: 'file', file };
  }
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const secret = randomBytes(48).toString('base64url');
  writeFileSync(file, secret + '\n', { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  return { secret, source: 'generated', file };
}
