// The built-ins Parley runs itself: the function each offers the model (its arguments schema generated
// from the settings) and what running it does. Storing a lead and transferring the call are the
// server's: they arrive here as callbacks, so this stays free of the database and the carrier.
import type { BuiltinSettings, LeadField } from '@parley/contracts';
import { validateArguments } from './arguments-validator.js';
import { currentTime } from './current-time.js';
import { errorOutcome, okOutcome, type ToolOutcome } from './tool-outcome.js';

export interface BuiltinFunctionDefinition {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

const DEFAULT_DESCRIPTIONS: Record<BuiltinSettings['type'], string> = {
  capture_lead:
    'Save the details the caller gave (call it once you have them all). Ask for any required detail that is missing.',
  current_time:
    'Get the current date, time and weekday. Use it before talking about today, tomorrow or opening hours.',
  hand_off:
    'Transfer the call to a person when the caller asks for one or you cannot help. Give the reason and a summary for them.',
};

// Patterns as well as formats: formats are not enforced by the validator, and a lead with a malformed
// email is worth asking the caller again for.
const LEAD_FIELD_SCHEMAS: Record<LeadField['type'], Record<string, unknown>> = {
  string: { type: 'string', minLength: 1 },
  number: { type: 'number' },
  boolean: { type: 'boolean' },
  email: {
    type: 'string',
    format: 'email',
    pattern: '^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$',
    examples: ['name@example.com'],
  },
  phone: {
    type: 'string',
    pattern: '^\\+?[0-9][0-9 ().-]{5,22}[0-9]$',
    description: 'In international format when possible.',
    examples: ['+14155550123'],
  },
  date: { type: 'string', format: 'date', pattern: '^\\d{4}-\\d{2}-\\d{2}$', examples: ['2026-11-22'] },
};

function leadFieldSchema(field: LeadField): Record<string, unknown> {
  const schema = LEAD_FIELD_SCHEMAS[field.type];
  return field.description ? { ...schema, description: field.description } : schema;
}

export function builtinParametersSchema(settings: BuiltinSettings): Record<string, unknown> {
  switch (settings.type) {
    case 'capture_lead':
      return {
        type: 'object',
        properties: Object.fromEntries(settings.fields.map((f) => [f.name, leadFieldSchema(f)])),
        required: settings.fields.filter((f) => f.required).map((f) => f.name),
        additionalProperties: false,
      };
    case 'current_time':
      return { type: 'object', properties: {}, additionalProperties: false };
    case 'hand_off':
      return {
        type: 'object',
        properties: {
          reason: {
            type: 'string',
            minLength: 1,
            description: 'Why the caller needs a person, in a few words.',
          },
          summary: {
            type: 'string',
            minLength: 1,
            description: 'What the person taking the call should know: who is calling and what was said.',
          },
        },
        required: ['reason', 'summary'],
        additionalProperties: false,
      };
  }
}

// One schema object per settings object, so the validator's per-schema cache serves every call.
const schemas = new WeakMap<BuiltinSettings, Record<string, unknown>>();
function schemaFor(settings: BuiltinSettings): Record<string, unknown> {
  let schema = schemas.get(settings);
  if (!schema) {
    schema = builtinParametersSchema(settings);
    schemas.set(settings, schema);
  }
  return schema;
}

/** What the model is offered; the tool's own name and description when it has them. */
export function builtinFunctionDefinition(
  settings: BuiltinSettings,
  named: { name?: string; description?: string } = {},
): BuiltinFunctionDefinition {
  return {
    name: named.name || settings.type,
    description: named.description || DEFAULT_DESCRIPTIONS[settings.type],
    parameters: schemaFor(settings),
  };
}

export interface HandOffRequest {
  /** Where a person answers (E.164). */
  number: string;
  reason: string;
  summary: string;
  /** Said before the transfer; the model's own words when empty. */
  message: string;
}

export interface RunBuiltinFunctionInput {
  settings: BuiltinSettings;
  /** The name the model called, for its error messages. */
  functionName?: string;
  arguments: unknown;
  /** The clock; now unless a test fixes it. */
  now?: Date;
  /** Stores a lead's fields (on the call and as a lead). A throw becomes a `failed` result. */
  saveLead: (fields: Record<string, unknown>) => Promise<void>;
  /** Starts the transfer; its outcome is the model's. A throw becomes a `failed` result. */
  handOff: (request: HandOffRequest) => Promise<ToolOutcome>;
}

export async function runBuiltinFunction(input: RunBuiltinFunctionInput): Promise<ToolOutcome> {
  const { settings } = input;
  const functionName = input.functionName || settings.type;
  // The time takes no arguments: whatever the model sent, the answer is the same.
  if (settings.type === 'current_time') {
    return okOutcome(JSON.stringify(currentTime(input.now ?? new Date(), settings.timezone)));
  }
  const checked = validateArguments(functionName, schemaFor(settings), input.arguments);
  if (!checked.ok) return checked.outcome;
  if (settings.type === 'capture_lead') {
    try {
      await input.saveLead(checked.arguments);
    } catch {
      return errorOutcome('failed', 'The details could not be saved. Apologise and carry on with the call.');
    }
    return okOutcome('{"saved":true}');
  }
  try {
    return await input.handOff({
      number: settings.number,
      reason: String(checked.arguments.reason),
      summary: String(checked.arguments.summary),
      message: settings.message,
    });
  } catch {
    return errorOutcome(
      'failed',
      'The call could not be transferred. Tell the caller and offer to help otherwise.',
    );
  }
}
