import type { Credential, CredentialsQuery, Page } from '@parley/contracts';
import { and, credentials, desc, eq, lt } from '@parley/db';
import { authorize, type OrgContext } from '../context.js';
import { toPage } from '../pagination.js';
import { toCredential } from './credential-row.js';

export async function listCredentials(ctx: OrgContext, query: CredentialsQuery): Promise<Page<Credential>> {
  authorize(ctx, 'credentials:read');
  const rows = await ctx.db
    .select()
    .from(credentials)
    .where(
      and(
        eq(credentials.organizationId, ctx.organizationId),
        query.provider ? eq(credentials.provider, query.provider) : undefined,
        query.cursor ? lt(credentials.id, query.cursor) : undefined,
      ),
    )
    .orderBy(desc(credentials.id))
    .limit(query.limit + 1);
  return toPage(rows, query.limit, toCredential);
}
