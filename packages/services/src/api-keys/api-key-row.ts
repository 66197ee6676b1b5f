import type { ApiKey, ApiKeyScope } from '@parley/contracts';
import type { apiKeys } from '@parley/db';
import { iso, isoOrNull } from '../pagination.js';

/** Keys look like `prly_<prefix>_<secret>`; the prefix is stored in clear to find the row and to show. */
export const KEY_PATTERN = /^prly_([A-Za-z0-9]{12})_([A-Za-z0-9_-]{43})$/;

export type ApiKeyRow = typeof apiKeys.$inferSelect;

export function toApiKey(row: ApiKeyRow): ApiKey {
  return {
    id: row.id,
    name: row.name,
    prefix: `prly_${row.prefix}`,
    scopes: row.scopes as ApiKeyScope[],
    expiresAt: isoOrNull(row.expiresAt),
    lastUsedAt: isoOrNull(row.lastUsedAt),
    revokedAt: isoOrNull(row.revokedAt),
    createdAt: iso(row.createdAt),
  };
}
