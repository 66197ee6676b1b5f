import { timingSafeEqual } from 'node:crypto';
import type {
  ApiKey,
  ApiKeyScope,
  CreateApiKeyBody,
  CreatedApiKey,
  Page,
  PageQuery,
} from '@parley/contracts';
import { and, apiKeys, desc, eq, lt, organizations } from '@parley/db';
import { audit } from '../audit.js';
import { actorUserId, authorize, nowOf, type Actor, type OrgContext, type ServiceDeps } from '../context.js';
import { ServiceError } from '../errors.js';
import { iso, isoOrNull, toPage } from '../pagination.js';
import { permissionsOfScopes } from '../permissions.js';
import { hashToken, randomToken } from '../secret-box.js';

/** Keys look like `prly_<prefix>_<secret>`; the prefix is stored in clear to find the row and to show. */
const KEY_PATTERN = /^prly_([A-Za-z0-9]{12})_([A-Za-z0-9_-]{43})$/;

function toApiKey(row: typeof apiKeys.$inferSelect): ApiKey {
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

function newPrefix(): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
  return Array.from(randomToken(16), (c) => alphabet[c.charCodeAt(0) % alphabet.length])
    .join('')
    .slice(0, 12);
}

export async function createApiKey(ctx: OrgContext, input: CreateApiKeyBody): Promise<CreatedApiKey> {
  authorize(ctx, 'api_keys:write');
  // A key never gets more than its creator may do.
  const missing = [...permissionsOfScopes(input.scopes)].filter((p) => !ctx.permissions.has(p));
  if (missing.length > 0) {
    throw new ServiceError('forbidden', 'You cannot grant scopes beyond your own permissions', { missing });
  }
  const prefix = newPrefix();
  const secret = randomToken(32);
  const fullKey = `prly_${prefix}_${secret}`;
  return ctx.db.transaction(async (tx) => {
    const [row] = await tx
      .insert(apiKeys)
      .values({
        organizationId: ctx.organizationId,
        name: input.name,
        prefix,
        secretHash: hashToken(fullKey),
        scopes: [...new Set(input.scopes)],
        createdBy: actorUserId(ctx),
        expiresAt: input.expiresAt ? new Date(input.expiresAt) : null,
      })
      .returning();
    if (!row) throw new Error('insert returned no row');
    await audit(tx, ctx, {
      organizationId: ctx.organizationId,
      action: 'api_key.create',
      targetType: 'api_key',
      targetId: row.id,
      details: { name: row.name, scopes: row.scopes },
    });
    return { ...toApiKey(row), secret: fullKey };
  });
}

export async function listApiKeys(ctx: OrgContext, query: PageQuery): Promise<Page<ApiKey>> {
  authorize(ctx, 'api_keys:read');
  const rows = await ctx.db
    .select()
    .from(apiKeys)
    .where(
      and(
        eq(apiKeys.organizationId, ctx.organizationId),
        query.cursor ? lt(apiKeys.id, query.cursor) : undefined,
      ),
    )
    .orderBy(desc(apiKeys.id))
    .limit(query.limit + 1);
  return toPage(rows, query.limit, toApiKey);
}

export async function getApiKey(ctx: OrgContext, id: string): Promise<ApiKey> {
  authorize(ctx, 'api_keys:read');
  const [row] = await ctx.db
    .select()
    .from(apiKeys)
    .where(and(eq(apiKeys.id, id), eq(apiKeys.organizationId, ctx.organizationId)));
  if (!row) throw new ServiceError('api_key_not_found', 'API key not found');
  return toApiKey(row);
}

/** Revoking is immediate and final; the row stays so the audit trail can name the key. */
export async function revokeApiKey(ctx: OrgContext, id: string): Promise<ApiKey> {
  authorize(ctx, 'api_keys:write');
  return ctx.db.transaction(async (tx) => {
    const [row] = await tx
      .update(apiKeys)
      .set({ revokedAt: nowOf(ctx) })
      .where(and(eq(apiKeys.id, id), eq(apiKeys.organizationId, ctx.organizationId)))
      .returning();
    if (!row) throw new ServiceError('api_key_not_found', 'API key not found');
    await audit(tx, ctx, {
      organizationId: ctx.organizationId,
      action: 'api_key.revoke',
      targetType: 'api_key',
      targetId: row.id,
      details: { name: row.name },
    });
    return toApiKey(row);
  });
}

// Recording last use on every request would make every read a write.
const LAST_USED_RESOLUTION_MS = 60_000;

/**
 * Authenticates a bearer token as an API key: it must exist, match, be neither revoked nor expired,
 * and its organization must not be suspended.
 */
export async function authenticateApiKey(
  deps: ServiceDeps,
  token: string,
): Promise<Extract<Actor, { type: 'api_key' }>> {
  const invalid = new ServiceError('api_key_invalid', 'The API key is invalid, revoked or expired');
  const match = KEY_PATTERN.exec(token);
  if (!match) throw invalid;
  const [row] = await deps.db
    .select({ key: apiKeys, suspendedAt: organizations.suspendedAt })
    .from(apiKeys)
    .innerJoin(organizations, eq(organizations.id, apiKeys.organizationId))
    .where(eq(apiKeys.prefix, match[1] as string));
  const expected = Buffer.from(row?.key.secretHash ?? '0'.repeat(64));
  const presented = Buffer.from(hashToken(token));
  if (!row || !timingSafeEqual(expected, presented)) throw invalid;
  const now = nowOf(deps);
  if (row.key.revokedAt || (row.key.expiresAt && row.key.expiresAt <= now)) throw invalid;
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
