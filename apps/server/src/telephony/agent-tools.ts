// The agent's own tools during a call (webhooks, MCP servers, built-ins), offered to the model and run
// when it calls them. Each function was resolved at the call's start (see resolveCallTools): its
// settings, the organization's headers and its decrypted credential are at hand, so a call costs one
// request and no database read. Every run ends in a result the model can read; what is logged is the
// function's name, status, error code and latency, never its arguments or its answer (personal data).
import type { FastifyBaseLogger } from 'fastify';
import type { McpSettings, WebhookSettings } from '@parley/contracts';
import {
  callMcpFunction,
  runBuiltinFunction,
  runWebhookFunction,
  validateArguments,
  webhookDeadlineMs,
  type CallToolFunction,
  type CallVariables,
  type HandOffRequest,
  type OutboundOptions,
  type WebhookRunRecord,
} from '@parley/services';
import { parseToolArguments } from '@parley/voice';
import type { ToolDefinition, ToolExecutor, ToolInvocation, ToolOutcome, ToolPolicy } from '@parley/voice';

/**
 * Room beyond a request's own deadline for the voice core's timer: the tool's own timeout answers
 * first, with its clearer message, and the core's is only the backstop.
 */
export const POLICY_MARGIN_MS = 500;

/** A `capture_lead` run: the fields the caller gave, for the tool that asked for them. */
export interface CapturedLead {
  toolId: string;
  fields: Record<string, unknown>;
}

export interface AgentToolsOptions {
  functions: readonly CallToolFunction[];
  /** Filled into webhook placeholders: built-ins (`call.id`, `agent.id`…) and `var.<name>`. */
  variables: CallVariables;
  /** Where requests may go beyond the public internet (the operator's allow-list). */
  outbound?: OutboundOptions;
  /** Stores a lead; a throw gives the model a `failed` result. */
  saveLead: (lead: CapturedLead) => Promise<void>;
  /**
   * Starts a hand-off to a person (a transfer). Absent when the call cannot be transferred: `hand_off`
   * functions are then not offered, as `transfer_call` is not.
   */
  handOff?: (request: HandOffRequest) => ToolOutcome | Promise<ToolOutcome>;
  log: Pick<FastifyBaseLogger, 'info' | 'warn'>;
  /** The clock, for `current_time` and the `now`/`date`/`time` placeholders. */
  now?: () => Date;
}

export class AgentTools implements ToolExecutor {
  private readonly byName = new Map<string, CallToolFunction>();
  private readonly offered: readonly ToolDefinition[];

  constructor(private readonly options: AgentToolsOptions) {
    for (const fn of options.functions) {
      if (fn.source.kind === 'builtin' && fn.source.builtin.type === 'hand_off' && !options.handOff) {
        options.log.info({ tool: fn.name }, 'hand-off not offered: this call cannot be transferred');
        continue;
      }
      this.byName.set(fn.name, fn);
    }
    this.offered = [...this.byName.values()].map(({ name, description, parameters }) => ({
      name,
      description,
      parameters,
    }));
  }

  definitions(): readonly ToolDefinition[] {
    return this.offered;
  }

  policy(name: string): ToolPolicy | undefined {
    const source = this.byName.get(name)?.source;
    if (!source || source.kind === 'builtin') return undefined;
    const settings = source.kind === 'webhook' ? source.webhook : source.mcp;
    const deadlineMs = source.kind === 'webhook' ? webhookDeadlineMs(source.webhook) : source.mcp.timeoutMs;
    return {
      timeoutMs: deadlineMs + POLICY_MARGIN_MS,
      ...(settings.waitingMessage ? { waitingMessage: settings.waitingMessage } : {}),
    };
  }

  async execute({ call, signal }: ToolInvocation): Promise<ToolOutcome> {
    const fn = this.byName.get(call.name);
    if (!fn)
      return { status: 'error', code: 'unknown_tool', content: `There is no tool named ${call.name}.` };
    const started = performance.now();
    const parsed = parseToolArguments(call);
    let outcome: ToolOutcome;
    let detail: Record<string, unknown> = {};
    if (!parsed.ok) outcome = parsed.outcome;
    else if (fn.source.kind === 'webhook') {
      const record = await this.runWebhook(fn, fn.source.webhook, parsed.args, signal);
      outcome = record.outcome;
      detail = recordDetail(record);
    } else if (fn.source.kind === 'mcp') {
      outcome = await this.runMcp(fn, fn.source.mcp, parsed.args, signal);
    } else {
      const toolId = fn.toolId;
      outcome = await runBuiltinFunction({
        settings: fn.source.builtin,
        functionName: fn.name,
        arguments: parsed.args,
        now: this.now(),
        saveLead: (fields) => this.options.saveLead({ toolId, fields }),
        handOff: async (request) => {
          if (!this.options.handOff) throw new Error('this call cannot be transferred');
          return this.options.handOff(request);
        },
      });
    }
    this.options.log.info(
      {
        tool: fn.name,
        kind: fn.source.kind,
        status: outcome.status,
        ...(outcome.status === 'error' ? { code: outcome.code } : {}),
        ...detail,
        latencyMs: Math.round(performance.now() - started),
      },
      'tool ran',
    );
    return outcome;
  }

  private runWebhook(
    fn: CallToolFunction,
    webhook: WebhookSettings,
    args: Record<string, unknown>,
    signal: AbortSignal,
  ): Promise<WebhookRunRecord> {
    return runWebhookFunction({
      functionName: fn.name,
      parameters: fn.parameters,
      webhook,
      arguments: args,
      variables: this.variables(),
      ...(fn.credentialHeader ? { credential: fn.credentialHeader } : {}),
      signal,
      ...(this.options.outbound ? { outbound: this.options.outbound } : {}),
      // A fire-and-forget request ends after the model has moved on: its ending is only logged.
      onSettled: (record) =>
        this.options.log.info(
          { tool: fn.name, kind: 'webhook', status: record.outcome.status, ...recordDetail(record) },
          'background tool request settled',
        ),
    });
  }

  private async runMcp(
    fn: CallToolFunction,
    mcp: McpSettings,
    args: Record<string, unknown>,
    signal: AbortSignal,
  ): Promise<ToolOutcome> {
    // Checked here as for webhooks: a wrong argument never reaches the customer's server.
    const checked = validateArguments(fn.name, fn.parameters, args);
    if (!checked.ok) return checked.outcome;
    const outbound = this.options.outbound;
    return callMcpFunction(mcp, fn.name, checked.arguments, {
      ...(fn.credentialHeader
        ? { credentialHeader: { name: fn.credentialHeader.headerName, value: fn.credentialHeader.value } }
        : {}),
      ...(outbound?.allowedHosts ? { allowedHosts: outbound.allowedHosts } : {}),
      ...(outbound?.lookup ? { lookup: outbound.lookup } : {}),
      signal,
    });
  }

  /** The call's variables, with the moment of this request rather than the call's start. */
  private variables(): CallVariables {
    const iso = this.now().toISOString();
    return { ...this.options.variables, now: iso, date: iso.slice(0, 10), time: iso.slice(11, 16) };
  }

  private now(): Date {
    return this.options.now ? this.options.now() : new Date();
  }
}

/** What a webhook run's log line adds: attempts, the last HTTP status, the failure's code. */
function recordDetail(record: WebhookRunRecord): Record<string, unknown> {
  return {
    attempts: record.attempts,
    ...(record.status === undefined ? {} : { httpStatus: record.status }),
    ...(record.errorCode ? { errorCode: record.errorCode } : {}),
  };
}
