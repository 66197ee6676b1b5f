// Lists the tools the organization sees (its own and the shared catalog's), newest first.
import type { Page, Tool, ToolsQuery } from '@parley/contracts';
import { and, desc, eq, isNotNull, isNull, lt, tools } from '@parley/db';
import { authorize, type OrgContext } from '../context.js';
import { toPage } from '../pagination.js';
import { selectVisibleTools, toTool } from './tool-row.js';

export async function listTools(ctx: OrgContext, query: ToolsQuery): Promise<Page<Tool>> {
  authorize(ctx, 'tools:read');
  const rows = await selectVisibleTools(
    ctx.db,
    ctx.organizationId,
    and(
      query.kind ? eq(tools.kind, query.kind) : undefined,
      query.scope === 'catalog' ? isNull(tools.organizationId) : undefined,
      query.scope === 'organization' ? isNotNull(tools.organizationId) : undefined,
      query.cursor ? lt(tools.id, query.cursor) : undefined,
    ),
  )
    .orderBy(desc(tools.id))
    .limit(query.limit + 1);
  return toPage(
    rows.map((found) => ({ id: found.row.id, found })),
    query.limit,
    ({ found }) => toTool(found),
  );
}
