// Tools over the wire: what an agent can call during a conversation. A tool is a source of one or more
// functions offered to the model:
// - `webhook`: one function, an HTTP request to the customer's server;
// - `mcp`: an MCP server (streamable HTTP) whose functions are discovered and cached;
// - `builtin`: one function Parley runs itself (capture a lead, tell the time, hand off to a human…).
// Tools belong to an organization, or to the instance's shared catalog (organizationId null), which
// instance administrators publish and every organization may attach, with its own settings and secret.
import { z } from 'zod';
import { Id, Name, PageQuery, Timestamp } from './common.js';
import { CustomerHeaders } from './http-headers.js';
import { E164 } from './phone-numbers.js';
import { malformedPlaceholders, templateVariables } from './templating.js';

/** What the model calls a function: OpenAI's rule (letters, digits, `_` and `-`, at most 64). */
export const FUNCTION_NAME = /^[a-zA-Z_][a-zA-Z0-9_-]{0,63}$/;
export const FunctionName = z
  .string()
  .regex(
    FUNCTION_NAME,
    'must be a function name such as `lookup_order`: letters, digits, _ and -, at most 64',
  );

const Description = z
  .string()
  .trim()
  .min(1, 'must not be empty: the model reads it to decide when to call the function')
  .max(2000, 'must be at most 2000 characters');

const Milliseconds = (min: number, max: number) =>
  z.number().int('must be a whole number of milliseconds').min(min).max(max);

/**
 * The JSON Schema of a function's arguments: an object schema (`type: "object"`). Parley validates the
 * model's arguments against it before any request is made; the schema itself is checked when the tool
 * is saved (services compile it).
 */
export const JsonSchemaObject = z
  .looseObject({
    type: z.literal('object', { message: 'must be an object schema (`"type": "object"`)' }),
    properties: z.record(z.string(), z.unknown()).optional(),
    required: z.array(z.string()).optional(),
  })
  .describe('A JSON Schema (draft 2020-12 subset) describing the arguments object.');
export type JsonSchemaObject = z.infer<typeof JsonSchemaObject>;

const EMPTY_PARAMETERS: JsonSchemaObject = { type: 'object', properties: {} };

const HttpUrl = z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' }).max(2048);

export const ToolHeaders = CustomerHeaders.default({});

/**
 * How a request is authenticated: a credential of provider `custom`, whose secret is sent in its
 * `headerName` (default `Authorization`, as `Bearer <secret>`). The secret is stored encrypted and
 * never shown back or logged.
 */
const CredentialRef = Id.optional().describe(
  'A `custom` credential whose secret authenticates the request (sent as `Authorization: Bearer …`, or in the credential’s `headerName`).',
);

export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

/** Placeholders in a webhook's URL and body: the function's arguments by name, and the call's. */
function checkTemplate(text: string, path: (string | number)[], ctx: z.RefinementCtx): void {
  for (const bad of malformedPlaceholders(text)) {
    ctx.addIssue({ code: 'custom', path, message: `malformed placeholder ${bad}` });
  }
}

export const WebhookSettings = z
  .strictObject({
    url: HttpUrl.describe(
      'Where the request goes. May contain `{{argument}}` placeholders (URL-encoded when filled in).',
    ),
    method: z.enum(HTTP_METHODS).default('POST'),
    headers: ToolHeaders,
    credentialId: CredentialRef,
    body: z
      .string()
      .max(20_000)
      .optional()
      .describe(
        'A JSON body template with `{{argument}}` and `{{call.id}}`-style placeholders (filled in as JSON values). Absent: Parley sends `{"name", "arguments", "call"}`. Ignored for GET and DELETE, whose arguments go in the query string.',
      ),
    timeoutMs: Milliseconds(100, 30_000).default(5000).describe('Per attempt.'),
    retries: z
      .number()
      .int()
      .min(0)
      .max(3)
      .default(0)
      .describe('Extra attempts after a connection failure, a timeout or a 5xx (with a short backoff).'),
    waitingMessage: z
      .string()
      .trim()
      .max(300)
      .default('')
      .describe(
        'Said to the caller when the request is still running after 1.5 s; the agent’s own “One moment, please.” if empty.',
      ),
    async: z
      .boolean()
      .default(false)
      .describe(
        'Fire and forget: the model is told the request was sent at once and the call does not wait for the answer.',
      ),
  })
  .superRefine((w, ctx) => {
    checkTemplate(w.url, ['url'], ctx);
    if (w.body !== undefined) checkTemplate(w.body, ['body'], ctx);
  });
export type WebhookSettings = z.infer<typeof WebhookSettings>;

export const McpSettings = z.strictObject({
  url: HttpUrl.describe('The MCP server’s streamable HTTP endpoint.'),
  headers: ToolHeaders,
  credentialId: CredentialRef,
  timeoutMs: Milliseconds(100, 30_000).default(10_000).describe('Per tool call and per discovery request.'),
  waitingMessage: z.string().trim().max(300).default(''),
});
export type McpSettings = z.infer<typeof McpSettings>;

export const LEAD_FIELD_TYPES = ['string', 'number', 'boolean', 'email', 'phone', 'date'] as const;

export const LeadField = z.strictObject({
  name: z.string().regex(/^[a-z][a-z0-9_]{0,39}$/, 'must be a field name such as `email` or `company_size`'),
  type: z.enum(LEAD_FIELD_TYPES).default('string'),
  description: z.string().trim().max(500).default(''),
  required: z.boolean().default(false),
});
export type LeadField = z.infer<typeof LeadField>;

export const BUILTIN_TOOL_TYPES = ['capture_lead', 'current_time', 'hand_off'] as const;

/**
 * Built-ins Parley runs itself. Ending the call, transferring to named numbers and sending DTMF are
 * part of the agent's `callActions` (they depend on the call's carrier).
 */
export const BuiltinSettings = z.discriminatedUnion('type', [
  z
    .strictObject({
      type: z.literal('capture_lead'),
      fields: z.array(LeadField).min(1, 'must list at least one field').max(30),
    })
    .describe('Stores structured fields the caller gave on the call and as a lead.'),
  z
    .strictObject({
      type: z.literal('current_time'),
      timezone: z
        .string()
        .max(64)
        .refine(isTimeZone, 'must be an IANA time zone such as `Europe/Paris`')
        .default('UTC'),
    })
    .describe('Tells the model the current date and time in a time zone.'),
  z
    .strictObject({
      type: z.literal('hand_off'),
      number: E164.describe('Where a person answers.'),
      message: z
        .string()
        .trim()
        .max(1000)
        .default('')
        .describe('Said before the hand-off (the model’s own words if empty).'),
    })
    .describe('Transfers the call to a person, with the reason and a summary for them recorded on the call.'),
]);
export type BuiltinSettings = z.infer<typeof BuiltinSettings>;

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

export const TOOL_KINDS = ['webhook', 'mcp', 'builtin'] as const;
export type ToolKind = (typeof TOOL_KINDS)[number];

const FunctionFields = {
  functionName: FunctionName.describe('The name the model calls.'),
  description: Description,
};

export const CreateToolBody = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('webhook'),
    name: Name,
    ...FunctionFields,
    parameters: JsonSchemaObject.default(EMPTY_PARAMETERS),
    webhook: WebhookSettings,
  }),
  z.strictObject({
    kind: z.literal('mcp'),
    name: Name,
    description: z.string().trim().max(2000).default(''),
    mcp: McpSettings,
  }),
  z.strictObject({
    kind: z.literal('builtin'),
    name: Name,
    ...FunctionFields,
    builtin: BuiltinSettings,
  }),
]);
export type CreateToolBody = z.infer<typeof CreateToolBody>;
export type CreateToolInput = z.input<typeof CreateToolBody>;

/**
 * A partial edit: the fields given replace the stored ones (objects such as `webhook` are replaced
 * whole). The kind cannot change: create another tool.
 */
export const UpdateToolBody = z
  .strictObject({
    name: Name.optional(),
    functionName: FunctionName.optional(),
    description: z.string().trim().max(2000).optional(),
    parameters: JsonSchemaObject.optional(),
    webhook: WebhookSettings.optional(),
    mcp: McpSettings.optional(),
    builtin: BuiltinSettings.optional(),
  })
  .refine((b) => Object.values(b).some((v) => v !== undefined), 'give at least one field to change');
export type UpdateToolBody = z.infer<typeof UpdateToolBody>;

/**
 * An organization's own settings for a catalog tool: its secret and extra headers. The catalog's
 * other settings stay the administrator's; no organization sees another's settings.
 */
export const CatalogToolSettingsBody = z.strictObject({
  credentialId: Id.nullable().optional().describe('`null` removes it.'),
  // Without the default: absent headers keep the stored ones rather than clearing them.
  headers: CustomerHeaders.optional(),
});
export type CatalogToolSettingsBody = z.infer<typeof CatalogToolSettingsBody>;

export const ToolsQuery = PageQuery.extend({
  kind: z.enum(TOOL_KINDS).optional(),
  scope: z
    .enum(['organization', 'catalog'])
    .optional()
    .describe('Only the organization’s own tools, or only the shared catalog.'),
});
export type ToolsQuery = z.infer<typeof ToolsQuery>;

/** A function a tool offers the model. */
export const ToolFunction = z
  .object({
    name: z.string(),
    description: z.string(),
    parameters: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'ToolFunction' });
export type ToolFunction = z.infer<typeof ToolFunction>;

export const Tool = z
  .object({
    id: Id,
    kind: z.enum(TOOL_KINDS),
    scope: z.enum(['organization', 'catalog']),
    name: z.string(),
    description: z.string(),
    functionName: z.string().nullable().describe('Webhook and built-in tools; null for MCP.'),
    parameters: z.record(z.string(), z.unknown()).nullable(),
    webhook: z.record(z.string(), z.unknown()).nullable(),
    mcp: z.record(z.string(), z.unknown()).nullable(),
    builtin: z.record(z.string(), z.unknown()).nullable(),
    functions: z
      .array(ToolFunction)
      .describe('What the model is offered: one function, or the MCP server’s discovered ones.'),
    discoveredAt: Timestamp.nullable().describe('MCP: when the functions were last discovered.'),
    discoveryError: z.string().nullable().describe('MCP: why the last discovery failed, if it did.'),
    organizationSettings: z
      .object({ credentialId: Id.nullable(), headers: z.record(z.string(), z.string()) })
      .nullable()
      .describe('Catalog tools: the calling organization’s own settings, if it has set any.'),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .meta({ id: 'Tool' });
export type Tool = z.infer<typeof Tool>;

/** An agent's use of a tool: which of its functions the model is offered (all when absent). */
export const AgentToolRef = z.strictObject({
  toolId: Id,
  functions: z
    .array(FunctionName)
    .min(1, 'must list at least one function, or be left out to offer them all')
    .max(128)
    .optional()
    .describe('The functions the agent offers the model; all of the tool’s when absent.'),
});
export type AgentToolRef = z.infer<typeof AgentToolRef>;

export const TestToolBody = z.strictObject({
  function: FunctionName.optional().describe('Required for MCP tools: which function to run.'),
  arguments: z.record(z.string(), z.unknown()).default({}),
  variables: z
    .record(z.string(), z.union([z.string(), z.number(), z.boolean()]))
    .default({})
    .describe('Call variables for the request’s placeholders (e.g. `call.id`).'),
});
export type TestToolBody = z.infer<typeof TestToolBody>;

/** What `POST /tools/:id/test` shows: the request as sent (secrets masked) and the answer. */
export const ToolTestResult = z
  .object({
    outcome: z.object({
      status: z.enum(['ok', 'error']),
      code: z.string().nullable(),
      content: z.string().describe('What the model would be given.'),
    }),
    request: z
      .object({
        method: z.string(),
        url: z.string(),
        headers: z.record(z.string(), z.string()).describe('Secret values masked.'),
        body: z.string().nullable(),
      })
      .nullable(),
    response: z
      .object({
        status: z.number().int(),
        headers: z.record(z.string(), z.string()),
        body: z.string().describe('At most 64 KiB.'),
        truncated: z.boolean(),
      })
      .nullable(),
    durationMs: z.number().int(),
  })
  .meta({ id: 'ToolTestResult' });
export type ToolTestResult = z.infer<typeof ToolTestResult>;

/** Placeholders a webhook's URL and body use, for validation against the function's parameters. */
export function webhookPlaceholders(webhook: Pick<WebhookSettings, 'url' | 'body'>): string[] {
  return [...new Set([...templateVariables(webhook.url), ...templateVariables(webhook.body ?? '')])];
}
