// Leads over the wire: the structured details callers gave, saved by the built-in `capture_lead` tool
// during calls. Personal data: deleting the call deletes its leads.
import { z } from 'zod';
import { Id, PageQuery, Timestamp } from './common.js';

export const LeadsQuery = PageQuery.extend({
  callId: Id.optional().describe('Only the leads captured during this call.'),
  agentId: Id.optional().describe('Only the leads this agent captured.'),
});
export type LeadsQuery = z.infer<typeof LeadsQuery>;

export const Lead = z
  .object({
    id: Id,
    callId: Id.nullable().describe('The call it was captured in; null when saved outside a call.'),
    agentId: Id.nullable().describe('Null when the agent was deleted for good.'),
    toolId: Id.nullable().describe('The `capture_lead` tool that saved it; null when that tool was deleted.'),
    fields: z
      .record(z.string(), z.unknown())
      .describe('The fields the tool declares, as the caller gave them (validated against their types).'),
    createdAt: Timestamp,
  })
  .meta({ id: 'Lead' });
export type Lead = z.infer<typeof Lead>;
