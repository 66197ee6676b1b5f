import { CreateToolBody } from '@parley/contracts';
import { describe, expect, it } from 'vitest';
import { checkToolDefinition } from './validate-tool.js';

const webhook = (functionName: string) =>
  CreateToolBody.parse({
    kind: 'webhook',
    name: 'Hang up',
    functionName,
    description: 'Ends the call',
    webhook: { url: 'https://api.example.com/hang-up' },
  });

describe('checkToolDefinition', () => {
  it.each(['end_call', 'transfer_call', 'send_dtmf'])(
    'refuses the call action name %s, saying where that action is enabled',
    (name) => {
      expect(() => checkToolDefinition(webhook(name))).toThrow(
        expect.objectContaining({
          code: 'invalid_request',
          message: expect.stringContaining(`functionName: ${name} is reserved for the agent's call actions`),
          details: [{ path: 'functionName', message: expect.stringContaining('callActions') }],
        }),
      );
    },
  );

  it('refuses it for a built-in too, and accepts other names', () => {
    const builtin = CreateToolBody.parse({
      kind: 'builtin',
      name: 'Time',
      functionName: 'send_dtmf',
      description: 'The time',
      builtin: { type: 'current_time' },
    });
    expect(() => checkToolDefinition(builtin)).toThrow(/reserved/);
    expect(() => checkToolDefinition(webhook('end_call_summary'))).not.toThrow();
  });
});
