// What a tool's schema alone cannot check: its arguments schema compiles, every placeholder of a
// webhook names something a call can fill in, its credential is a `custom` one of the organization,
// and its function name is free.
import {
  BUILT_IN_VARIABLES,
  CreateToolBody,
  fieldIssues,
  webhookPlaceholders,
  type FieldIssue,
  type McpSettings,
  type WebhookSettings,
} from '@parley/contracts';
import { and, credentials, eq, isNull, ne, tools, type Executor } from '@parley/db';
import { ServiceError } from '../errors.js';
import { compileArgumentsSchema } from './arguments-schema.js';

/**
 * A placeholder names an argument (`{{order_id}}`, or `{{order.id}}` inside an object argument), a
 * built-in variable (`{{call.id}}`), or one of the call's own variables as `{{var.<name>}}`: a tool
 * serves many agents, so the variables an agent declares are not known here.
 */
export const CALL_VARIABLE_PREFIX = 'var.';

function placeholderIssues(webhook: WebhookSettings, parameters: Record<string, unknown>): FieldIssue[] {
  const properties = Object.keys((parameters.properties as Record<string, unknown> | undefined) ?? {});
  const known = (name: string) =>
    BUILT_IN_VARIABLES.includes(name) ||
    (name.startsWith(CALL_VARIABLE_PREFIX) && name.length > CALL_VARIABLE_PREFIX.length) ||
    properties.includes(name.split('.')[0] ?? '');
  const issues: FieldIssue[] = [];
  for (const [field, text] of [
    ['url', webhook.url],
    ['body', webhook.body ?? ''],
  ] as const) {
    const unknown = webhookPlaceholders({ url: text }).filter((name) => !known(name));
    if (unknown.length > 0) {
      issues.push({
        path: `webhook.${field}`,
        message:
          `unknown placeholder ${unknown.map((n) => `{{${n}}}`).join(', ')}: a placeholder names a parameter ` +
          `(${properties.join(', ') || 'none declared'}), a built-in variable (${BUILT_IN_VARIABLES.join(', ')}) ` +
          `or a call variable as {{var.<name>}}`,
      });
    }
  }
  return issues;
}

/**
 * The agent's call actions (see the agent's `callActions`): a tool of the same name would never be
 * called, as the call action wins on every call.
 */
export const RESERVED_FUNCTION_NAMES: readonly string[] = ['end_call', 'transfer_call', 'send_dtmf'];

/** Checks the definition alone: 400 `invalid_request` naming each offending field. */
export function checkToolDefinition(definition: CreateToolBody): void {
  const issues: FieldIssue[] = [];
  if (definition.kind !== 'mcp' && RESERVED_FUNCTION_NAMES.includes(definition.functionName)) {
    issues.push({
      path: 'functionName',
      message: `${definition.functionName} is reserved for the agent's call actions (${RESERVED_FUNCTION_NAMES.join(', ')}): enable it in the agent's callActions, or choose another name`,
    });
  }
  if (definition.kind === 'webhook') {
    const compiled = compileArgumentsSchema(definition.parameters);
    if (!compiled.ok) {
      issues.push({ path: 'parameters', message: `not a valid JSON Schema: ${compiled.message}` });
    }
    issues.push(...placeholderIssues(definition.webhook, definition.parameters));
  }
  if (issues.length > 0) {
    const summary = issues.map((d) => `${d.path}: ${d.message}`).join('; ');
    throw new ServiceError('invalid_request', `Invalid tool: ${summary}`, issues);
  }
}

/** The kind's settings object, which is what a tool stores besides its function. */
export function requestSettings(definition: CreateToolBody): WebhookSettings | McpSettings | null {
  if (definition.kind === 'webhook') return definition.webhook;
  if (definition.kind === 'mcp') return definition.mcp;
  return null;
}

/**
 * The credential a tool's requests are signed with: a `custom` credential of the organization (422
 * `invalid_reference`). A catalog tool serves every organization, so it names none: each organization
 * sets its own with PUT /tools/:id/settings.
 */
export async function checkToolCredential(
  db: Executor,
  organizationId: string | null,
  path: string,
  credentialId: string | null | undefined,
): Promise<void> {
  if (!credentialId) return;
  let message: string | null = null;
  if (organizationId === null) {
    message =
      'a catalog tool names no credential: each organization sets its own with PUT /api/v1/tools/:id/settings';
  } else {
    // FOR SHARE: the credential cannot be deleted while a tool that starts using it is being saved.
    const [credential] = await db
      .select({ provider: credentials.provider })
      .from(credentials)
      .where(and(eq(credentials.id, credentialId), eq(credentials.organizationId, organizationId)))
      .for('share');
    if (!credential) message = 'no such credential in this organization';
    else if (credential.provider !== 'custom') {
      message = `the credential is for ${credential.provider}; a tool needs a \`custom\` credential`;
    }
  }
  if (message !== null) {
    throw new ServiceError('invalid_reference', `Invalid tool: ${path}: ${message}`, [{ path, message }]);
  }
}

/**
 * The model tells functions apart by name only: within an organization (or within the catalog) a
 * function name belongs to one tool. The unique index settles races between organizations' inserts.
 */
export async function checkFunctionNameFree(
  db: Executor,
  organizationId: string | null,
  functionName: string | null,
  exceptToolId: string | null,
): Promise<void> {
  if (functionName === null) return;
  const [taken] = await db
    .select({ id: tools.id })
    .from(tools)
    .where(
      and(
        organizationId === null ? isNull(tools.organizationId) : eq(tools.organizationId, organizationId),
        eq(tools.functionName, functionName),
        exceptToolId ? ne(tools.id, exceptToolId) : undefined,
      ),
    );
  if (taken) throw functionNameTaken(functionName);
}

export const functionNameTaken = (functionName: string) =>
  new ServiceError(
    'tool_function_taken',
    `Another tool already offers a function named ${functionName}; choose another functionName`,
    [{ path: 'functionName', message: 'already offered by another tool' }],
  );

/** Re-parses a definition assembled from stored fields and an edit, naming fields as the API does. */
export function parseDefinition(candidate: unknown): CreateToolBody {
  const parsed = CreateToolBody.safeParse(candidate);
  if (!parsed.success) {
    const details = fieldIssues(parsed.error);
    const summary = details.map((d) => `${d.path}: ${d.message}`).join('; ');
    throw new ServiceError('invalid_request', `Invalid tool: ${summary}`, details);
  }
  return parsed.data;
}
