/** JSON Schema of a tool's parameters (an object schema). */
export type JsonSchema = Record<string, unknown>;

export interface ToolDefinition {
  name: string;
  description: string;
  parameters: JsonSchema;
}

export interface ToolCall {
  /** The model's id for this call; its result must cite it. */
  id: string;
  name: string;
  /** The model's JSON text, unparsed: it may be malformed and the tool layer reports that. */
  arguments: string;
}

export type ChatMessage =
  | { role: 'system'; content: string }
  | { role: 'user'; content: string }
  | { role: 'assistant'; content: string; toolCalls?: ToolCall[] }
  | { role: 'tool'; toolCallId: string; content: string };

export interface ChatRequest {
  messages: readonly ChatMessage[];
  tools?: readonly ToolDefinition[];
  temperature?: number;
  maxTokens?: number;
  /** Ends the request; iteration then stops quietly. */
  signal: AbortSignal;
}

export interface LlmUsage {
  promptTokens: number;
  completionTokens: number;
}

export type LlmEvent =
  | { type: 'text'; text: string }
  /** Emitted once the call's arguments are complete. */
  | { type: 'tool_call'; call: ToolCall }
  | {
      type: 'done';
      finishReason: 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'other';
      usage?: LlmUsage;
    };

export interface LlmCapabilities {
  tools: boolean;
  parallelToolCalls: boolean;
}

export interface LlmProvider {
  /** Catalog id, e.g. `openai`. */
  readonly id: string;
  readonly model: string;
  readonly capabilities: LlmCapabilities;
  /** Streams one completion; throws ProviderError (before or during the stream) on failure. */
  chat(request: ChatRequest): AsyncIterable<LlmEvent>;
}
