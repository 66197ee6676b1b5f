import { describe, expect, it } from 'vitest';
import { AnsweringMachine, type MachineLine } from './answering-machine.js';

/** A line whose play fails as given, ended or not. */
function failingLine(closedBy: MachineLine['closedBy'], message: string): MachineLine {
  return {
    startSentAtMs: 0,
    closedBy,
    play: () => Promise.reject(new Error(message)),
    heardAudio: () => new Int16Array(0),
  };
}

describe('AnsweringMachine.playGreeting', () => {
  it('takes a play the hang-up cut short as the call hung up during its greeting', async () => {
    const machine = new AnsweringMachine(failingLine('server', 'the call ended before the audio finished'));
    await expect(machine.playGreeting()).resolves.toBe(null);
    expect(machine.hungUpDuringGreeting).toBe(true);
    expect(machine.beepAtMs).toBe(null);
  });

  it('lets a play that failed on a live line fail the greeting, not pass for a hang-up', async () => {
    const machine = new AnsweringMachine(failingLine(null, 'socket write failed'));
    await expect(machine.playGreeting()).rejects.toThrow('socket write failed');
    expect(machine.hungUpDuringGreeting).toBe(false);
  });
});
