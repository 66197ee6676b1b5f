// What a function run gives the model. Structurally the voice core's `ToolOutcome` (services may not
// import @parley/voice): the server passes it through unchanged.

export type ToolErrorCode = 'timeout' | 'failed' | 'invalid_arguments' | 'unknown_tool';

export type ToolOutcome =
  | {
      status: 'ok';
      content: string;
      /** Hang up once the agent's reply to this result has been heard. */
      endCall?: boolean;
      /** Words the agent says as its reply, instead of asking the model again. */
      say?: string;
    }
  | { status: 'error'; code: ToolErrorCode; content: string };

export function okOutcome(content: string): ToolOutcome {
  return { status: 'ok', content };
}

/** An error the model can read and tell the caller about: `{"error": message, ...extra}`. */
export function errorOutcome(
  code: ToolErrorCode,
  message: string,
  extra: Record<string, unknown> = {},
): ToolOutcome {
  return { status: 'error', code, content: JSON.stringify({ error: message, ...extra }) };
}
