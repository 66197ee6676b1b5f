import type { ToolCall, ToolDefinition } from '../providers/llm.js';

/** What a tool run produced; errors are results too, so the model can tell the caller. */
export type ToolOutcome =
  | {
      status: 'ok';
      content: string;
      /** Hang up once the agent's reply to this result has been heard (an end-call tool). */
      endCall?: boolean;
      /**
       * Words the agent says as its reply to this result, instead of asking the model again: a fixed
       * line the business wrote (a transfer's announcement) is said as written.
       */
      say?: string;
    }
  | { status: 'error'; content: string; code: 'timeout' | 'failed' | 'invalid_arguments' | 'unknown_tool' };

export interface ToolInvocation {
  call: ToolCall;
  /** Identifies the call for logs and idempotency on the customer's side. */
  callId: string;
  /** Aborted on barge-in, hang-up or timeout. */
  signal: AbortSignal;
}

/** How one tool wants to be run, where it differs from the session's defaults. */
export interface ToolPolicy {
  /** The whole run's deadline (all attempts); the session's tool timeout when absent. */
  timeoutMs?: number;
  /** Said when the tool is still running after the slow threshold; the session's line when absent. */
  waitingMessage?: string;
}

/**
 * Runs the agent's tools. The voice core only knows this interface: webhook and MCP tools (and
 * built-ins such as end-call) live behind it.
 */
export interface ToolExecutor {
  /** The tools the model may call right now. */
  definitions(): readonly ToolDefinition[];
  execute(invocation: ToolInvocation): Promise<ToolOutcome>;
  /** Per-tool timeout and waiting line (webhook tools carry their own); defaults apply when absent. */
  policy?(name: string): ToolPolicy | undefined;
}
