import type { ApiKeyScope } from '@parley/contracts';
import { apiKeys, eq, organizations } from '@parley/db';
import { nowOf, type Actor, type ServiceDeps } from '../context.js';
import { ServiceError } from '../errors.js';
import { constantTimeEqual, hashToken } from '../secret-box.js';
import { KEY_PATTERN } from './api-key-row.js';

// Recording last use on every request would make every read a write.
const LAST_USED_RESOLUTION_MS = 60_000;
// Compared against when no key has the prefix, so a miss costs what a hit costs.
const NO_HASH = '0'.repeat(64);

/**
 * Authenticates a bearer token as an API key: it must exist, match, be neither revoked nor expired,
 * and its organization must not be suspended.
 */
export async function authenticateApiKey(
  deps: ServiceDeps,
  token: string,
): Promise<Extract<Actor, { type: 'api_key' }>> {
  // Built only when needed: an error's stack trace is a cost every valid request would pay.
  const invalid = () => new ServiceError('api_key_invalid', 'The API key is invalid, revoked or expired');
  const match = KEY_PATTERN.exec(token);
  if (!match) throw invalid();
  const [row] = await deps.db
    .select({ key: apiKeys, suspendedAt: organizations.suspendedAt })
    .from(apiKeys)
    .innerJoin(organizations, eq(organizations.id, apiKeys.organizationId))
    .where(eq(apiKeys.prefix, match[1] as string));
  const matches = constantTimeEqual(row?.key.secretHash ?? NO_HASH, hashToken(token));
  if (!row || !matches) throw invalid();
  const now = nowOf(deps);
  if (row.key.revokedAt || (row.key.expiresAt && row.key.expiresAt <= now)) throw invalid();
  if (row.suspendedAt) {
    throw new ServiceError(
      'organization_suspended',
      'This organization is suspended; its API keys do not work',
    );
  }
  if (!row.key.lastUsedAt || now.getTime() - row.key.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS) {
    await deps.db.update(apiKeys).set({ lastUsedAt: now }).where(eq(apiKeys.id, row.key.id));
  }
  return {
    type: 'api_key',
    apiKeyId: row.key.id,
    name: row.key.name,
    organizationId: row.key.organizationId,
    scopes: row.key.scopes as ApiKeyScope[],
  };
}
