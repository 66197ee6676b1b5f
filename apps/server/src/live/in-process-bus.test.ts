import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { describe, expect, it, vi } from 'vitest';
import type { CallCommand } from './call-commands.js';
import { InProcessCallCommandBus } from './in-process-bus.js';

const logger = pino({ level: 'silent' });
const ended = (): CallCommand => ({ type: 'carrier_ended', callId: randomUUID() });

describe('the in-process call command bus', () => {
  it('hands a command to the listeners of its runtime only, after the sender has moved on', async () => {
    const bus = new InProcessCallCommandBus(logger);
    const onA: CallCommand[] = [];
    const onB: CallCommand[] = [];
    await bus.listen('rt-a', (command) => void onA.push(command));
    await bus.listen('rt-b', (command) => void onB.push(command));
    const command = ended();
    const sending = bus.send('rt-b', command);
    // Never inside the sender's own stack.
    expect(onB).toEqual([]);
    await sending;
    expect(onB).toEqual([command]);
    expect(onA).toEqual([]);
  });

  it('stops delivering to a listener once unsubscribed, and to everyone once closed', async () => {
    const bus = new InProcessCallCommandBus(logger);
    const first = vi.fn();
    const second = vi.fn();
    const unsubscribe = await bus.listen('rt-a', first);
    await bus.listen('rt-a', second);
    await unsubscribe();
    await bus.send('rt-a', ended());
    expect(first).not.toHaveBeenCalled();
    expect(second).toHaveBeenCalledTimes(1);

    await bus.close();
    await expect(bus.send('rt-a', ended())).rejects.toThrow('the call command bus is closed');
    await expect(bus.listen('rt-a', first)).rejects.toThrow('the call command bus is closed');
    expect(second).toHaveBeenCalledTimes(1);
  });

  it('keeps delivering to the other listeners when one handler throws', async () => {
    const errors: unknown[] = [];
    const recording = pino(
      { level: 'error' },
      { write: (line: string) => void errors.push(JSON.parse(line)) },
    );
    const bus = new InProcessCallCommandBus(recording);
    const command = ended();
    await bus.listen('rt-a', () => {
      throw new Error('boom');
    });
    const healthy = vi.fn();
    await bus.listen('rt-a', healthy);
    await bus.send('rt-a', command);
    expect(healthy).toHaveBeenCalledWith(command);
    await vi.waitFor(() =>
      expect(errors).toMatchObject([
        { msg: 'call command handler failed', commandType: 'carrier_ended', callId: command.callId },
      ]),
    );
  });
});
