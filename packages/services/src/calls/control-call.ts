// A supervisor's command on a live call (hang up, say, inject, transfer, hand off, mute, unmute): who
// may send it, whether the call can take it, and where it goes. The call's record names the runtime
// carrying it; the command travels there over the event bus (a port the server plugs in), and the
// runtime carries it out and records it on the call's timeline. The audit entry says what kind of
// command was sent, by whom, and how long a said or added text was, never the text itself.
import {
  AgentToolRef,
  BuiltinSettings,
  TRANSFER_CARRIERS,
  type CallControlAccepted,
  type CallControlBody,
  type LiveCallControlCommand,
} from '@parley/contracts';
import { agentVersions, and, eq, inArray, tools } from '@parley/db';
import { z } from 'zod';
import { auditInOrganization } from '../audit.js';
import { authorize, type OrgContext } from '../context.js';
import { ServiceError } from '../errors.js';
import { selectVisibleTools } from '../tools/tool-row.js';
import { findCall, type CallRow } from './call-row.js';

/** The event bus as the services see it: hands a command to the runtime `runtimeId`. */
export interface CallCommandPort {
  /** Resolves once the command is on its way (not once carried out); rejects when the bus fails. */
  send(runtimeId: string, command: LiveCallControlCommand): Promise<void>;
}

const unavailable = (callId: string) =>
  new ServiceError(
    'call_control_unavailable',
    'The command could not be sent to the runtime carrying the call; the call is unchanged',
    { callId },
  );

export async function controlCall(
  ctx: OrgContext,
  id: string,
  body: CallControlBody,
): Promise<CallControlAccepted> {
  authorize(ctx, 'calls:write');
  const row = await findCall(ctx.db, ctx.organizationId, id);
  // A runtime claims the call when its media connects; until then (and once it is over) nothing listens.
  if (row.status !== 'in_progress' || row.runtimeId === null) {
    throw new ServiceError(
      'call_not_live',
      `The call is ${row.status}; only a call in progress can be controlled`,
      { status: row.status },
    );
  }
  const command = await commandFor(ctx, row, body);
  const port = ctx.callCommands;
  if (!port) throw unavailable(row.id);
  try {
    await port.send(row.runtimeId, command);
  } catch {
    throw unavailable(row.id);
  }
  await auditInOrganization(ctx.db, ctx, {
    action: `call.control.${body.type}`,
    targetType: 'call',
    targetId: row.id,
    details: auditDetails(body),
  });
  return { callId: row.id, command: body };
}

async function commandFor(
  ctx: OrgContext,
  row: CallRow,
  body: CallControlBody,
): Promise<LiveCallControlCommand> {
  const callId = row.id;
  switch (body.type) {
    case 'hang_up':
    case 'mute':
    case 'unmute':
      return { type: body.type, callId };
    case 'say':
      return {
        type: 'say',
        callId,
        text: body.text,
        interrupt: body.interrupt,
        hangUpAfter: body.hangUpAfter,
      };
    case 'inject':
      return { type: 'inject', callId, role: body.role, content: body.content, respond: body.respond };
    case 'transfer':
      assertCanTransfer(row);
      return { type: 'transfer', callId, to: body.to, message: body.message, handOff: false };
    case 'hand_off': {
      assertCanTransfer(row);
      const handOff = await agentHandOff(ctx, row);
      if (!handOff) {
        throw new ServiceError(
          'hand_off_not_configured',
          'The call’s agent has no hand_off tool: there is no person to hand the call to',
          { agentId: row.agentId, agentVersion: row.agentVersion },
        );
      }
      return { type: 'transfer', callId, to: handOff.number, message: handOff.message, handOff: true };
    }
  }
}

/** Only a phone call on a carrier that can move a live call (the runtime re-checks with the carrier). */
function assertCanTransfer(row: CallRow): void {
  if (row.direction === 'web' || !TRANSFER_CARRIERS.includes(row.transport) || !row.carrierCallId) {
    throw new ServiceError('call_cannot_transfer', `A ${row.transport} call cannot be transferred`, {
      transport: row.transport,
    });
  }
}

const StoredTools = z.object({ tools: z.array(AgentToolRef).default([]) });

/** The `hand_off` built-in of the agent version the call runs, if it has one (the first, as offered). */
async function agentHandOff(
  ctx: OrgContext,
  row: CallRow,
): Promise<{ number: string; message: string } | null> {
  if (!row.agentId || row.agentVersion === null) return null;
  const [version] = await ctx.db
    .select({ config: agentVersions.config })
    .from(agentVersions)
    .where(
      and(
        eq(agentVersions.organizationId, ctx.organizationId),
        eq(agentVersions.agentId, row.agentId),
        eq(agentVersions.version, row.agentVersion),
      ),
    );
  const refs = StoredTools.safeParse(version?.config ?? {});
  if (!refs.success || refs.data.tools.length === 0) return null;
  const ids = refs.data.tools.map((ref) => ref.toolId);
  const found = await selectVisibleTools(
    ctx.db,
    ctx.organizationId,
    and(inArray(tools.id, ids), eq(tools.kind, 'builtin')),
  );
  for (const id of ids) {
    const settings = BuiltinSettings.safeParse(found.find((visible) => visible.row.id === id)?.row.settings);
    if (settings.success && settings.data.type === 'hand_off') {
      return { number: settings.data.number, message: settings.data.message };
    }
  }
  return null;
}

/** What the audit keeps: the command's switches and text lengths; never the text (personal data). */
function auditDetails(body: CallControlBody): Record<string, unknown> {
  switch (body.type) {
    case 'say':
      return { chars: body.text.length, interrupt: body.interrupt, hangUpAfter: body.hangUpAfter };
    case 'inject':
      return { role: body.role, chars: body.content.length, respond: body.respond };
    case 'transfer':
      return { messageChars: body.message.length };
    default:
      return {};
  }
}
