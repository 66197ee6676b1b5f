import { BuiltinSettings } from '@parley/contracts';
import { describe, expect, it, vi } from 'vitest';
import {
  builtinFunctionDefinition,
  runBuiltinFunction,
  type RunBuiltinFunctionInput,
} from './builtin-functions.js';

const leadSettings = BuiltinSettings.parse({
  type: 'capture_lead',
  fields: [
    { name: 'name', required: true },
    { name: 'email', type: 'email', required: true },
    { name: 'phone', type: 'phone' },
    { name: 'company_size', type: 'number' },
    { name: 'visit', type: 'date' },
  ],
});

function run(settings: BuiltinSettings, args: unknown, extra: Partial<RunBuiltinFunctionInput> = {}) {
  const saveLead = vi.fn(async (_fields: Record<string, unknown>) => undefined);
  const handOff = vi.fn(async () => ({ status: 'ok' as const, content: '{"transferring":true}' }));
  return {
    saveLead,
    handOff,
    outcome: runBuiltinFunction({ settings, arguments: args, saveLead, handOff, ...extra }),
  };
}

describe('built-in functions', () => {
  it('offers a lead form with one typed argument per field, the required ones required', () => {
    const definition = builtinFunctionDefinition(leadSettings, { name: 'save_contact' });
    expect(definition.name).toBe('save_contact');
    expect(definition.description).not.toBe('');
    expect(definition.parameters).toMatchObject({
      type: 'object',
      properties: {
        name: { type: 'string' },
        email: { type: 'string', format: 'email' },
        phone: { type: 'string' },
        company_size: { type: 'number' },
        visit: { type: 'string', format: 'date' },
      },
      required: ['name', 'email'],
    });
    expect(builtinFunctionDefinition(BuiltinSettings.parse({ type: 'current_time' })).parameters).toEqual({
      type: 'object',
      properties: {},
      additionalProperties: false,
    });
  });

  it('tells the time in the agent’s time zone', async () => {
    const settings = BuiltinSettings.parse({ type: 'current_time', timezone: 'Europe/Paris' });
    const { outcome } = run(settings, {}, { now: new Date('2026-11-22T09:15:00Z') });
    expect(JSON.parse((await outcome).content)).toEqual({
      now: '2026-11-22T10:15:00+01:00',
      timezone: 'Europe/Paris',
      weekday: 'Sunday',
      date: '2026-11-22',
      time: '10:15',
    });
  });

  it('tells the time in UTC and across midnight elsewhere', async () => {
    const now = new Date('2026-07-01T23:30:00Z');
    const utc = run(BuiltinSettings.parse({ type: 'current_time' }), {}, { now });
    expect(JSON.parse((await utc.outcome).content).now).toBe('2026-07-01T23:30:00+00:00');
    const tokyo = run(BuiltinSettings.parse({ type: 'current_time', timezone: 'Asia/Tokyo' }), {}, { now });
    expect(JSON.parse((await tokyo.outcome).content)).toMatchObject({
      weekday: 'Thursday',
      date: '2026-07-02',
    });
  });

  it('saves a lead and tells the model it is saved', async () => {
    const fields = { name: 'Ana', email: 'ana@example.com', phone: '+33 6 12 34 56 78', visit: '2026-12-01' };
    const { outcome, saveLead } = run(leadSettings, fields);
    expect(await outcome).toEqual({ status: 'ok', content: '{"saved":true}' });
    expect(saveLead).toHaveBeenCalledWith(fields);
  });

  it('refuses a lead with a missing or malformed field without saving it', async () => {
    const { outcome, saveLead } = run(
      leadSettings,
      { email: 'ana at example', phone: 'call me' },
      {
        functionName: 'capture_lead',
      },
    );
    expect(await outcome).toEqual({
      status: 'error',
      code: 'invalid_arguments',
      content: JSON.stringify({
        error:
          'Invalid arguments for capture_lead: name is required; email must be an email address, such as "name@example.com"; ' +
          'phone is not in the expected format, such as "+14155550123"',
      }),
    });
    expect(saveLead).not.toHaveBeenCalled();
  });

  it('answers `failed` when the lead cannot be stored', async () => {
    const { outcome } = run(
      leadSettings,
      { name: 'Ana', email: 'ana@example.com' },
      {
        saveLead: async () => {
          throw new Error('database down');
        },
      },
    );
    expect(await outcome).toMatchObject({ status: 'error', code: 'failed' });
  });

  it('hands off with the reason and the summary, and the transfer’s outcome is the model’s', async () => {
    const settings = BuiltinSettings.parse({
      type: 'hand_off',
      number: '+33140000000',
      message: 'Transferring you now.',
    });
    const { outcome, handOff } = run(settings, {
      reason: 'billing dispute',
      summary: 'Ana, invoice 42 charged twice',
    });
    expect(await outcome).toEqual({ status: 'ok', content: '{"transferring":true}' });
    expect(handOff).toHaveBeenCalledWith({
      number: '+33140000000',
      reason: 'billing dispute',
      summary: 'Ana, invoice 42 charged twice',
      message: 'Transferring you now.',
    });
  });

  it('does not hand off without a reason', async () => {
    const settings = BuiltinSettings.parse({ type: 'hand_off', number: '+33140000000' });
    const { outcome, handOff } = run(settings, { summary: 'Ana' });
    expect(await outcome).toMatchObject({ status: 'error', code: 'invalid_arguments' });
    expect(handOff).not.toHaveBeenCalled();
  });
});
