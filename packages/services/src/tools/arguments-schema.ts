// Compiling a function's arguments schema. JSON Schema draft 2020-12 (Ajv2020), strict: a misspelt
// keyword (`requried`) is an error rather than a rule silently not applied. `format` is not checked
// (no format is refused, none is enforced), so the same schema means the same thing to every model.
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';

function newAjv(): Ajv2020 {
  return new Ajv2020({
    allErrors: true,
    strictSchema: true,
    strictNumbers: true,
    // These only warn (on the console by default): off, a schema is either accepted or refused.
    strictTypes: false,
    strictTuples: false,
    strictRequired: false,
    validateFormats: false,
    logger: false,
  });
}

export type ArgumentsValidator = ValidateFunction;

/**
 * The compiled schema, or why it does not compile (Ajv's words). A top-level `$schema` is ignored and
 * the schema read as draft 2020-12: MCP servers built with the official SDK declare draft-07, whose
 * meta-schema Ajv2020 does not carry, and for the object schemas tools use the two drafts agree.
 */
export function compileArgumentsSchema(
  schema: Record<string, unknown>,
): { ok: true; validate: ArgumentsValidator } | { ok: false; message: string } {
  const { $schema: _declaredDraft, ...body } = schema;
  try {
    // A fresh instance each time: a schema's `$id` must not clash with one compiled before.
    return { ok: true, validate: newAjv().compile(body) };
  } catch (error) {
    return { ok: false, message: error instanceof Error ? error.message : String(error) };
  }
}
