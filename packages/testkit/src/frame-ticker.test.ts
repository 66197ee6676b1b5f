import { describe, expect, it } from 'vitest';
import { ManualClock } from '@parley/voice';
import { FrameTicker } from './frame-ticker.js';
import type { TickerClient } from './frame-ticker.js';

/** A line whose frame k is due at phaseMs + 20·k; records when each frame went out. */
function line(phaseMs: number): TickerClient & { sentAtMs: number[]; dueAtMs: number[] } {
  let next = 0;
  const sentAtMs: number[] = [];
  const dueAtMs: number[] = [];
  return {
    sentAtMs,
    dueAtMs,
    nextDueMs: () => phaseMs + 20 * next,
    onDue(nowMs, dueByMs) {
      while (phaseMs + 20 * next <= dueByMs) {
        dueAtMs.push(phaseMs + 20 * next);
        sentAtMs.push(nowMs);
        next++;
      }
    },
  };
}

describe('FrameTicker', () => {
  it('sends each line its frames at their absolute deadlines with one timer for all lines', async () => {
    const clock = new ManualClock();
    const ticker = new FrameTicker(clock);
    const lines = [line(0), line(5), line(12.5)];
    for (const client of lines) ticker.add(client);
    expect(clock.pendingTimerCount).toBe(1);
    await clock.advance(100);
    expect(lines[0]!.sentAtMs).toEqual([0, 20, 40, 60, 80, 100]);
    expect(lines[1]!.sentAtMs).toEqual([5, 25, 45, 65, 85]);
    expect(lines[2]!.sentAtMs).toEqual([12.5, 32.5, 52.5, 72.5, 92.5]);
    expect(clock.pendingTimerCount).toBe(1);
    expect(ticker.wakeUps).toBe(16);
  });

  it('after a stall, sends the backlog and keeps the original schedule', async () => {
    // The line starts at 0 but the ticker first runs at 70 (a blocked event loop).
    const stalled = new ManualClock(70);
    const late = new FrameTicker(stalled);
    const lateLine = line(0);
    late.add(lateLine);
    await stalled.advance(0);
    expect(lateLine.sentAtMs).toEqual([70, 70, 70, 70]);
    expect(lateLine.dueAtMs).toEqual([0, 20, 40, 60]);
    await stalled.advance(10);
    expect(lateLine.dueAtMs.at(-1)).toBe(80);
    expect(lateLine.sentAtMs.at(-1)).toBe(80);
  });

  it('stops waking up when the last line leaves', async () => {
    const clock = new ManualClock();
    const ticker = new FrameTicker(clock);
    const client = line(0);
    ticker.add(client);
    ticker.remove(client);
    expect(clock.pendingTimerCount).toBe(0);
    await clock.advance(100);
    expect(client.sentAtMs).toEqual([]);
  });
});
