import type { ApiKey, Page, PageQuery } from '@parley/contracts';
import { and, apiKeys, desc, eq, lt } from '@parley/db';
import { authorize, type OrgContext } from '../context.js';
import { ServiceError } from '../errors.js';
import { toPage } from '../pagination.js';
import { toApiKey } from './api-key-row.js';

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
