// The model's arguments checked against the function's JSON Schema before anything runs. A wrong
// argument becomes an `invalid_arguments` result that names the argument and what is wrong with it,
// so the model can ask the caller again or correct itself.
import type { ErrorObject } from 'ajv';
import { compileArgumentsSchema, type ArgumentsValidator } from '../tools/arguments-schema.js';
import { errorOutcome, type ToolOutcome } from './tool-outcome.js';

/** The content stays short: the model needs the first few problems, not an essay. */
const MAX_PROBLEMS = 5;
const MAX_MESSAGE_CHARS = 600;

type Compiled = { ok: true; validate: ArgumentsValidator } | { ok: false; message: string };

// Per schema object: a tool's schema is compiled once however many times the model calls it.
const compiled = new WeakMap<object, Compiled>();

function compile(schema: Record<string, unknown>): Compiled {
  let entry = compiled.get(schema);
  if (!entry) {
    entry = compileArgumentsSchema(schema);
    compiled.set(schema, entry);
  }
  return entry;
}

export type ArgumentsCheck =
  { ok: true; arguments: Record<string, unknown> } | { ok: false; outcome: ToolOutcome };

/** `arguments` (already parsed from the model's JSON) against `schema`. */
export function validateArguments(
  functionName: string,
  schema: Record<string, unknown>,
  args: unknown,
): ArgumentsCheck {
  if (typeof args !== 'object' || args === null || Array.isArray(args)) {
    return invalid(functionName, ['the arguments must be a JSON object']);
  }
  const entry = compile(schema);
  if (!entry.ok) {
    // Checked when the tool is saved, so only a schema that changed meaning gets here.
    return {
      ok: false,
      outcome: errorOutcome(
        'failed',
        `The ${functionName} tool is misconfigured: its arguments schema is invalid`,
      ),
    };
  }
  if (entry.validate(args)) return { ok: true, arguments: args as Record<string, unknown> };
  const problems = [...new Set((entry.validate.errors ?? []).map((e) => describeError(e, schema)))];
  return invalid(functionName, problems);
}

function invalid(functionName: string, problems: string[]): ArgumentsCheck {
  const shown = problems.slice(0, MAX_PROBLEMS);
  if (problems.length > shown.length) shown.push(`${problems.length - shown.length} more`);
  let message = `Invalid arguments for ${functionName}: ${shown.join('; ')}`;
  if (message.length > MAX_MESSAGE_CHARS) message = `${message.slice(0, MAX_MESSAGE_CHARS - 1)}…`;
  return { ok: false, outcome: errorOutcome('invalid_arguments', message) };
}

/** `/items/0/name` → `items[0].name`. */
function argumentPath(instancePath: string, child?: string): string {
  const segments = instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (child !== undefined) segments.push(child);
  return (
    segments.reduce((path, s) => (/^\d+$/.test(s) ? `${path}[${s}]` : path ? `${path}.${s}` : s), '') ||
    'the arguments'
  );
}

/** The schema holding the failing keyword, for its `examples` and `format`. */
function parentSchema(schema: Record<string, unknown>, schemaPath: string): Record<string, unknown> {
  let node: unknown = schema;
  for (const segment of schemaPath.replace(/^#\/?/, '').split('/').slice(0, -1)) {
    if (typeof node !== 'object' || node === null) return {};
    node = (node as Record<string, unknown>)[
      decodeURIComponent(segment.replace(/~1/g, '/').replace(/~0/g, '~'))
    ];
  }
  return typeof node === 'object' && node !== null ? (node as Record<string, unknown>) : {};
}

const FORMAT_WORDS: Record<string, string> = {
  email: 'an email address',
  date: 'a date (YYYY-MM-DD)',
  'date-time': 'a date and time (ISO 8601)',
  time: 'a time (HH:MM:SS)',
  uri: 'a URL',
};

function describeError(error: ErrorObject, schema: Record<string, unknown>): string {
  const params = error.params as Record<string, unknown>;
  const at = argumentPath(error.instancePath);
  switch (error.keyword) {
    case 'required':
      return `${argumentPath(error.instancePath, String(params.missingProperty))} is required`;
    case 'additionalProperties':
      return `${argumentPath(error.instancePath, String(params.additionalProperty))} is not an accepted argument`;
    case 'type': {
      const type = String(params.type).replace(/,/g, ' or ');
      return `${at} must be ${/^[aeiou]/.test(type) ? 'an' : 'a'} ${type}`;
    }
    case 'enum':
      return `${at} must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'const':
      return `${at} must be ${JSON.stringify(params.allowedValue)}`;
    case 'pattern':
    case 'format': {
      const parent = parentSchema(schema, error.schemaPath);
      const format = typeof parent.format === 'string' ? FORMAT_WORDS[parent.format] : undefined;
      const example = Array.isArray(parent.examples) ? parent.examples[0] : undefined;
      const expected = format ? `must be ${format}` : 'is not in the expected format';
      return example === undefined
        ? `${at} ${expected}`
        : `${at} ${expected}, such as ${JSON.stringify(example)}`;
    }
    default:
      return `${at} ${error.message ?? 'is not valid'}`;
  }
}
