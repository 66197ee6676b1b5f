// The HTTP request a webhook function sends: the tool's URL and body template filled in with the
// model's arguments and the call's variables, its headers, and its credential. Also the request as the
// `test` endpoint shows it, with the secret masked.
import type { WebhookSettings } from '@parley/contracts';

/** `call.id`, `call.direction`, `agent.id`, `customer.number`, `var.<name>`…: filled into placeholders. */
export type CallVariables = Readonly<Record<string, string | number | boolean>>;

/** The credential's header, its secret already decrypted by the caller. */
export interface CredentialHeader {
  headerName: string;
  value: string;
}

export interface WebhookRequest {
  method: WebhookSettings['method'];
  url: string;
  headers: Record<string, string>;
  body: string | undefined;
  /** Header names (lower case) whose values are secret: masked in views, never logged. */
  secretHeaders: readonly string[];
}

export interface WebhookRequestInput {
  functionName: string;
  webhook: Pick<WebhookSettings, 'url' | 'method' | 'headers' | 'body'>;
  /** Validated against the function's schema already. */
  arguments: Readonly<Record<string, unknown>>;
  variables?: CallVariables;
  credential?: CredentialHeader;
}

/** Why a request could not be built; the message names the tool and the fault, never argument values. */
export class WebhookRequestError extends Error {
  constructor(
    readonly code: 'invalid_body_template',
    message: string,
  ) {
    super(message);
    this.name = 'WebhookRequestError';
  }
}

export const SECRET_MASK = '••••';

/**
 * How a `custom` credential is sent: its secret in `headerName` as is, or as `Authorization: Bearer
 * <secret>` when it names no header.
 */
export function credentialHeader(credential: { secret: string; headerName?: string }): CredentialHeader {
  const headerName = credential.headerName?.trim();
  return headerName
    ? { headerName, value: credential.secret }
    : { headerName: 'Authorization', value: `Bearer ${credential.secret}` };
}

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*\}\}/g;
const PLACEHOLDER_HERE = new RegExp(PLACEHOLDER.source, 'y');
const NO_BODY_METHODS = new Set(['GET', 'DELETE']);

export function buildWebhookRequest(input: WebhookRequestInput): WebhookRequest {
  const { webhook } = input;
  const variables = input.variables ?? {};
  const lookup = (name: string) => placeholderValue(name, input.arguments, variables);
  let url = webhook.url.replace(PLACEHOLDER, (_m, name: string) => encodeURIComponent(urlText(lookup(name))));
  let body: string | undefined;
  if (NO_BODY_METHODS.has(webhook.method)) {
    url = withQuery(url, input.arguments, usedArguments(webhook.url));
  } else {
    body =
      webhook.body === undefined
        ? JSON.stringify({
            name: input.functionName,
            arguments: input.arguments,
            call: {
              id: variables['call.id'] ?? null,
              direction: variables['call.direction'] ?? null,
              agentId: variables['agent.id'] ?? null,
            },
          })
        : fillBodyTemplate(input.functionName, webhook.body, lookup);
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(webhook.headers)) headers[name.toLowerCase()] = value;
  const secretHeaders: string[] = [];
  if (input.credential) {
    const name = input.credential.headerName.toLowerCase();
    headers[name] = input.credential.value;
    secretHeaders.push(name);
  }
  if (body !== undefined) headers['content-type'] = 'application/json';
  headers['user-agent'] = 'Parley';
  return { method: webhook.method, url, headers, body, secretHeaders };
}

/** The request as `POST /tools/:id/test` shows it: secret header values replaced by `••••`. */
export function maskedWebhookRequest(request: WebhookRequest): {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string | null;
} {
  const headers = { ...request.headers };
  for (const name of request.secretHeaders) if (name in headers) headers[name] = SECRET_MASK;
  return { method: request.method, url: request.url, headers, body: request.body ?? null };
}

/** An argument by name (`order.id` reads inside an object argument), then a call variable. */
function placeholderValue(
  name: string,
  args: Readonly<Record<string, unknown>>,
  variables: CallVariables,
): unknown {
  const [head = '', ...rest] = name.split('.');
  if (Object.hasOwn(args, head)) {
    let value: unknown = args[head];
    for (const key of rest) {
      if (typeof value !== 'object' || value === null || !Object.hasOwn(value, key)) {
        value = undefined;
        break;
      }
      value = (value as Record<string, unknown>)[key];
    }
    if (value !== undefined) return value;
  }
  return Object.hasOwn(variables, name) ? variables[name] : undefined;
}

function urlText(value: unknown): string {
  if (value === undefined || value === null) return '';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

function usedArguments(urlTemplate: string): Set<string> {
  return new Set([...urlTemplate.matchAll(PLACEHOLDER)].map((m) => (m[1] ?? '').split('.')[0] ?? ''));
}

/** GET and DELETE carry their arguments in the query string, except those already in the path. */
function withQuery(url: string, args: Readonly<Record<string, unknown>>, skip: Set<string>): string {
  const parsed = URL.canParse(url) ? new URL(url) : undefined;
  if (!parsed) return url; // the request fails with invalid_url, which says so better
  for (const [name, value] of Object.entries(args)) {
    if (skip.has(name) || value === undefined || value === null) continue;
    parsed.searchParams.append(name, urlText(value));
  }
  return parsed.toString();
}

/**
 * Placeholders become JSON values (`"text"`, `42`, `{...}`), or escaped text when they sit inside a
 * string literal of the template (`"Order {{order_id}}"`). The result must parse as JSON.
 */
function fillBodyTemplate(functionName: string, template: string, lookup: (name: string) => unknown): string {
  let out = '';
  let inString = false;
  let i = 0;
  while (i < template.length) {
    const char = template[i] as string;
    if (char === '{' && template[i + 1] === '{') {
      PLACEHOLDER_HERE.lastIndex = i;
      const match = PLACEHOLDER_HERE.exec(template);
      if (match) {
        const value = lookup(match[1] as string);
        out += inString ? JSON.stringify(urlText(value)).slice(1, -1) : jsonValue(value);
        i += match[0].length;
        continue;
      }
    }
    if (inString && char === '\\') {
      out += template.slice(i, i + 2);
      i += 2;
      continue;
    }
    if (char === '"') inString = !inString;
    out += char;
    i++;
  }
  try {
    JSON.parse(out);
  } catch (error) {
    // The parser's message may quote the filled-in text, which holds the caller's data: not repeated.
    const position = /position (\d+)/.exec(error instanceof Error ? error.message : '')?.[1];
    throw new WebhookRequestError(
      'invalid_body_template',
      `The body template of ${functionName} does not make valid JSON once filled in` +
        (position === undefined ? '' : ` (at character ${position})`),
    );
  }
  return out;
}

function jsonValue(value: unknown): string {
  return value === undefined ? 'null' : JSON.stringify(value);
}
