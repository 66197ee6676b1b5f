import { describe, expect, it } from 'vitest';
import { SimulatorErrors } from './simulator-errors.js';

describe('SimulatorErrors', () => {
  it('keeps a background task’s rejection and throws it, with what was being done, once', async () => {
    const errors = new SimulatorErrors('Plivo');
    const failing = Promise.reject(new Error('connection refused'));
    errors.watch('fetching the transfer document', failing);
    await failing.catch(() => {});
    errors.watch('ending the media stream', Promise.resolve());
    await Promise.resolve();

    expect(() => errors.throwIfAny()).toThrow(
      'Plivo simulator failed on its own:\n- fetching the transfer document: connection refused',
    );
    // Forgotten once thrown: the next test starts clean.
    expect(() => errors.throwIfAny()).not.toThrow();
  });

  it('throws nothing when nothing failed', () => {
    expect(() => new SimulatorErrors('Twilio').throwIfAny()).not.toThrow();
  });
});
