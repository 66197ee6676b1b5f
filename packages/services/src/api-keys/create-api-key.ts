import type { CreateApiKeyBody, CreatedApiKey } from '@parley/contracts';
import { and, apiKeys, eq } from '@parley/db';
import { auditInOrganization } from '../audit.js';
import { actorUserId, authorize, type OrgContext } from '../context.js';
import { ServiceError } from '../errors.js';
import { permissionsOfScopes } from '../permissions.js';
import { hashToken, randomToken } from '../secret-box.js';
import { toApiKey } from './api-key-row.js';

function newPrefix(): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
  return Array.from(randomToken(16), (c) => alphabet[c.charCodeAt(0) % alphabet.length])
    .join('')
    .slice(0, 12);
}

/**
 * Who answers for a new key, and how long it may live. A key made by a user answers to that user; a
 * key made by another key answers to the same person and cannot outlive its parent, so a short-lived
 * key cannot mint a permanent one.
 */
async function lineage(ctx: OrgContext, requestedExpiry: Date | null) {
  if (ctx.actor.type !== 'api_key') return { createdBy: actorUserId(ctx), expiresAt: requestedExpiry };
  const [parent] = await ctx.db
    .select({ createdBy: apiKeys.createdBy, expiresAt: apiKeys.expiresAt })
    .from(apiKeys)
    .where(and(eq(apiKeys.id, ctx.actor.apiKeyId), eq(apiKeys.organizationId, ctx.organizationId)));
  if (parent?.expiresAt && (!requestedExpiry || requestedExpiry > parent.expiresAt)) {
    throw new ServiceError(
      'forbidden',
      `A key cannot outlive the key that creates it: set expiresAt no later than ${parent.expiresAt.toISOString()}`,
      { path: 'body.expiresAt' },
    );
  }
  return { createdBy: parent?.createdBy ?? null, expiresAt: requestedExpiry };
}

export async function createApiKey(ctx: OrgContext, input: CreateApiKeyBody): Promise<CreatedApiKey> {
  authorize(ctx, 'api_keys:write');
  // A key never gets more than its creator may do.
  const missing = [...permissionsOfScopes(input.scopes)].filter((p) => !ctx.permissions.has(p));
  if (missing.length > 0) {
    throw new ServiceError('forbidden', 'You cannot grant scopes beyond your own permissions', { missing });
  }
  const { createdBy, expiresAt } = await lineage(ctx, input.expiresAt ? new Date(input.expiresAt) : null);
  const prefix = newPrefix();
  const fullKey = `prly_${prefix}_${randomToken(32)}`;
  return ctx.db.transaction(async (tx) => {
    const [row] = await tx
      .insert(apiKeys)
      .values({
        organizationId: ctx.organizationId,
        name: input.name,
        prefix,
        secretHash: hashToken(fullKey),
        scopes: [...new Set(input.scopes)],
        createdBy,
        expiresAt,
      })
      .returning();
    if (!row) throw new Error('insert returned no row');
    await auditInOrganization(tx, ctx, {
      action: 'api_key.create',
      targetType: 'api_key',
      targetId: row.id,
      details: { name: row.name, scopes: row.scopes },
    });
    return { ...toApiKey(row), secret: fullKey };
  });
}
