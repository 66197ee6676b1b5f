import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { UnclosedCalls } from './unclosed-calls.js';

const logger = pino({ level: 'silent' });

/** A closing that fails `failures` times (the database is down), then writes the record. */
function closing(failures: number) {
  const state = { attempts: 0, closed: false };
  const close = async () => {
    state.attempts += 1;
    if (state.attempts <= failures) throw new Error('database unreachable');
    state.closed = true;
  };
  return { state, close };
}

describe('calls whose record could not be closed', () => {
  it('are closed by a later retry, and forgotten once closed', async () => {
    const unclosed = new UnclosedCalls(logger);
    const call = closing(2);
    await expect(unclosed.close('call-1', call.close)).rejects.toThrow('database unreachable');
    expect(unclosed.size).toBe(1);
    await unclosed.retry();
    expect(call.state).toEqual({ attempts: 2, closed: false });
    await unclosed.retry();
    expect(call.state).toEqual({ attempts: 3, closed: true });
    expect(unclosed.size).toBe(0);
    await unclosed.retry();
    expect(call.state.attempts).toBe(3);
  });

  it('hold nothing when the record closes the first time', async () => {
    const unclosed = new UnclosedCalls(logger);
    const call = closing(0);
    await unclosed.close('call-2', call.close);
    expect(call.state.closed).toBe(true);
    expect(unclosed.size).toBe(0);
  });

  it('retry each held call independently: one still failing does not hold up the others', async () => {
    const unclosed = new UnclosedCalls(logger);
    const stubborn = closing(10);
    const recovering = closing(1);
    await expect(unclosed.close('stubborn', stubborn.close)).rejects.toThrow();
    await expect(unclosed.close('recovering', recovering.close)).rejects.toThrow();
    await unclosed.retry();
    expect(recovering.state.closed).toBe(true);
    expect(stubborn.state.closed).toBe(false);
    expect(unclosed.size).toBe(1);
  });
});
