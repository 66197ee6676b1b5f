// Stores a lead the built-in `capture_lead` tool collected during a call. The runtime's verb: the
// call is the authority (no actor), and the fields were validated against the tool's schema already.
import { leads, type Executor } from '@parley/db';

export interface NewLead {
  organizationId: string;
  callId: string | null;
  agentId: string | null;
  toolId: string | null;
  fields: Record<string, unknown>;
}

export async function saveLead(db: Executor, lead: NewLead, now: Date = new Date()): Promise<{ id: string }> {
  const [row] = await db
    .insert(leads)
    .values({
      organizationId: lead.organizationId,
      callId: lead.callId,
      agentId: lead.agentId,
      toolId: lead.toolId,
      fields: lead.fields,
      createdAt: now,
    })
    .returning({ id: leads.id });
  if (!row) throw new Error('insert returned no row');
  return row;
}
