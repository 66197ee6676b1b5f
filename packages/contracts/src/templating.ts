/**
 * `{{name}}` templating for prompts and messages. Names are identifiers with optional dots
 * (`customer.name`); whitespace inside the braces is allowed. An unknown name renders as empty text,
 * never as the raw placeholder, so a caller never hears "curly brace curly brace".
 */
const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*\}\}/g;
const ANY_BRACES = /\{\{([^}]*)\}\}/g;

export const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$/;

/** Variables every call provides without declaring them. */
export const BUILT_IN_VARIABLES = [
  'now',
  'date',
  'time',
  'call.id',
  'call.direction',
  'customer.number',
  'agent.name',
];

export function templateVariables(template: string): string[] {
  return [...new Set([...template.matchAll(PLACEHOLDER)].map((m) => m[1] as string))];
}

/** Placeholders that are not valid names, e.g. `{{ first name }}` or `{{}}`. */
export function malformedPlaceholders(template: string): string[] {
  return [...template.matchAll(ANY_BRACES)]
    .filter((m) => !VARIABLE_NAME.test((m[1] ?? '').trim()))
    .map((m) => m[0]);
}

export function renderTemplate(
  template: string,
  values: Readonly<Record<string, string | number | boolean>>,
): string {
  return template.replace(PLACEHOLDER, (_match, name: string) => {
    const value = values[name];
    return value === undefined ? '' : String(value);
  });
}
