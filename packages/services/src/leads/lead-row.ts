import type { Lead } from '@parley/contracts';
import type { leads } from '@parley/db';
import { iso } from '../pagination.js';

export type LeadRow = typeof leads.$inferSelect;

export const toLead = (row: LeadRow): Lead => ({
  id: row.id,
  callId: row.callId,
  agentId: row.agentId,
  toolId: row.toolId,
  fields: row.fields,
  createdAt: iso(row.createdAt),
});
