// Reads one tool the organization sees: its own, or one of the shared catalog.
import type { Tool } from '@parley/contracts';
import { authorize, type OrgContext } from '../context.js';
import { findVisibleTool, toTool } from './tool-row.js';

export async function getTool(ctx: OrgContext, id: string): Promise<Tool> {
  authorize(ctx, 'tools:read');
  return toTool(await findVisibleTool(ctx.db, ctx.organizationId, id));
}
