import { describe, expect, it } from 'vitest';
import { validateArguments } from './arguments-validator.js';

const schema = {
  type: 'object',
  properties: {
    order_number: { type: 'string' },
    quantity: { type: 'integer', minimum: 1 },
    size: { enum: ['S', 'M', 'L'] },
    email: { type: 'string', pattern: '^[^@]+@[^@]+$', format: 'email', examples: ['name@example.com'] },
    items: {
      type: 'array',
      items: { type: 'object', properties: { sku: { type: 'string' } }, required: ['sku'] },
    },
  },
  required: ['order_number'],
  additionalProperties: false,
};

const error = (check: ReturnType<typeof validateArguments>) =>
  check.ok
    ? undefined
    : {
        code: check.outcome.status === 'error' ? check.outcome.code : 'ok',
        ...JSON.parse(check.outcome.content),
      };

describe('validateArguments', () => {
  it('accepts arguments that follow the schema', () => {
    expect(validateArguments('lookup_order', schema, { order_number: 'A17', quantity: 2 })).toEqual({
      ok: true,
      arguments: { order_number: 'A17', quantity: 2 },
    });
  });

  it('reads a schema declaring draft-07, as MCP servers built with the official SDK send them', () => {
    const mcpSchema = {
      $schema: 'http://json-schema.org/draft-07/schema#',
      type: 'object',
      properties: { email: { type: 'string' } },
      required: ['email'],
      additionalProperties: false,
    };
    expect(validateArguments('find_customer', mcpSchema, { email: 'ada@example.com' }).ok).toBe(true);
    expect(error(validateArguments('find_customer', mcpSchema, {}))).toMatchObject({
      code: 'invalid_arguments',
    });
  });

  it('names each wrong argument and what is wrong with it', () => {
    const check = validateArguments('lookup_order', schema, {
      quantity: 'two',
      size: 'XL',
      email: 'nobody',
      items: [{ name: 'socks' }],
      colour: 'red',
    });

    expect(error(check)).toEqual({
      code: 'invalid_arguments',
      error:
        'Invalid arguments for lookup_order: order_number is required; colour is not an accepted argument; ' +
        'quantity must be an integer; size must be one of "S", "M", "L"; ' +
        'email must be an email address, such as "name@example.com"; 1 more',
    });
  });

  it('describes nested arguments by their path, and keeps other limits in Ajv’s words', () => {
    expect(
      error(validateArguments('f', schema, { order_number: 'A', quantity: 0, items: [{}] }))?.error,
    ).toBe('Invalid arguments for f: quantity must be >= 1; items[0].sku is required');
  });

  it('refuses arguments that are not an object', () => {
    expect(error(validateArguments('f', schema, ['A17']))?.error).toBe(
      'Invalid arguments for f: the arguments must be a JSON object',
    );
  });

  it('keeps the message short however many problems there are', () => {
    const wide = {
      type: 'object',
      properties: Object.fromEntries(
        Array.from({ length: 40 }, (_, i) => [`a_rather_long_argument_name_${i}`, { type: 'string' }]),
      ),
      required: Array.from({ length: 40 }, (_, i) => `a_rather_long_argument_name_${i}`),
    };
    const message: string = error(validateArguments('f', wide, {}))?.error;
    expect(message.length).toBeLessThanOrEqual(600);
    expect(message).toContain('35 more');
  });

  it('answers `failed` for a schema that does not compile', () => {
    expect(error(validateArguments('f', { type: 'object', requried: ['x'] }, {}))).toEqual({
      code: 'failed',
      error: 'The f tool is misconfigured: its arguments schema is invalid',
    });
  });
});
