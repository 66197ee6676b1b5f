import { describe, expect, it } from 'vitest';
import { ManualClock } from '@parley/voice';
import { PhonePlayout } from './phone-playout.js';

function setUp() {
  const clock = new ManualClock();
  const echoed: { name: string; atMs: number }[] = [];
  const playout = new PhonePlayout<{ name: string }>({
    clock,
    originMs: 0,
    keepSamples: true,
    onMarkPlayed: (mark) => echoed.push({ name: mark.name, atMs: clock.now() }),
  });
  return { clock, echoed, playout };
}

const tone = (ms: number, value = 1000) => new Int16Array(ms * 8).fill(value);

describe('PhonePlayout', () => {
  it('plays audio back to back and echoes each mark when the audio before it has played', async () => {
    const { clock, echoed, playout } = setUp();
    expect(playout.addAudio(tone(100), 0).playsAtMs).toBe(0);
    playout.addMark({ name: 'first' }, 0);
    expect(playout.addAudio(tone(50), 0).playsAtMs).toBe(100);
    playout.addMark({ name: 'second' }, 0);
    await clock.advance(99);
    expect(echoed).toEqual([]);
    await clock.advance(51);
    expect(echoed).toEqual([
      { name: 'first', atMs: 100 },
      { name: 'second', atMs: 150 },
    ]);
  });

  it('echoes a mark at once when nothing is left to play', () => {
    const { echoed, playout } = setUp();
    playout.addMark({ name: 'idle' }, 0);
    expect(echoed).toEqual([{ name: 'idle', atMs: 0 }]);
  });

  it('after a gap, audio starts when it arrives and the gap is heard as silence', async () => {
    const { clock, playout } = setUp();
    playout.addAudio(tone(20, 100), 0);
    await clock.advance(50);
    expect(playout.addAudio(tone(20, 200), 50).playsAtMs).toBe(50);
    await clock.advance(50);
    const heard = playout.heardAudio(clock.now());
    expect(heard).toHaveLength(800);
    expect(heard.subarray(0, 160).every((sample) => sample === 100)).toBe(true);
    expect(heard.subarray(160, 400).every((sample) => sample === 0)).toBe(true);
    expect(heard.subarray(400, 560).every((sample) => sample === 200)).toBe(true);
    expect(heard.subarray(560).every((sample) => sample === 0)).toBe(true);
  });

  it('clear drops what has not played, returns pending marks at once, and cuts the heard audio there', async () => {
    const { clock, echoed, playout } = setUp();
    playout.addAudio(tone(200), 0);
    playout.addMark({ name: 'm' }, 0);
    await clock.advance(30);
    expect(playout.clear(30)).toEqual({ discardedMs: 170 });
    expect(echoed).toEqual([{ name: 'm', atMs: 30 }]);
    await clock.advance(1000);
    expect(echoed).toHaveLength(1);
    const heard = playout.heardAudio(100);
    expect(heard.subarray(0, 240).every((sample) => sample === 1000)).toBe(true);
    expect(heard.subarray(240).every((sample) => sample === 0)).toBe(true);
    // New audio after the clear plays at once.
    expect(playout.addAudio(tone(20), clock.now()).playsAtMs).toBe(clock.now());
  });

  it('echoes nothing after the call closes', async () => {
    const { clock, echoed, playout } = setUp();
    playout.addAudio(tone(100), 0);
    playout.addMark({ name: 'late' }, 0);
    playout.close();
    await clock.advance(200);
    expect(echoed).toEqual([]);
  });
});
