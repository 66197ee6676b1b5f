import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import { MULAW_8K } from './format.js';
import { OutboundPacer } from './pacer.js';

function setup(leadMs = 60) {
  const clock = new ManualClock();
  const sent: { atMs: number; kind: 'audio' | 'mark'; bytes?: number; name?: string }[] = [];
  const pacer = new OutboundPacer({
    clock,
    format: MULAW_8K,
    leadMs,
    sendAudio: (frame) => sent.push({ atMs: clock.now(), kind: 'audio', bytes: frame.byteLength }),
    sendMark: (name) => sent.push({ atMs: clock.now(), kind: 'mark', name }),
  });
  return { clock, pacer, sent, audio: () => sent.filter((s) => s.kind === 'audio') };
}

const ms = (duration: number) => new Uint8Array(duration * 8).fill(0x55);

describe('OutboundPacer', () => {
  it('sends the first frame at once, the lead ahead, then one frame per 20 ms', async () => {
    const { clock, pacer, audio } = setup(60);
    pacer.enqueue(ms(1000));
    // Frame 1 plays now; frames 2-4 fall within the 60 ms lead.
    expect(audio().map((s) => s.atMs)).toEqual([0, 0, 0, 0]);
    await clock.advance(100);
    expect(audio().map((s) => s.atMs)).toEqual([0, 0, 0, 0, 20, 40, 60, 80, 100]);
    expect(audio().every((s) => s.bytes === 160)).toBe(true);
  });

  it('never drifts: the 1000th frame leaves exactly at its deadline', async () => {
    const { clock, pacer, audio } = setup(60);
    pacer.enqueue(ms(20_000));
    await clock.advance(20_000);
    const sent = audio();
    expect(sent).toHaveLength(1000);
    // Frame k plays at 20k ms and is sent 60 ms earlier.
    expect(sent[999]!.atMs).toBe(999 * 20 - 60);
    expect(pacer.stats.lateFrames).toBe(0);
  });

  it('sends a mark right after the last frame of its chunk, in order', async () => {
    const { clock, pacer, sent } = setup(0);
    pacer.enqueue(ms(50), 'first');
    pacer.enqueue(ms(40), 'second');
    await clock.advance(200);
    const order = sent.map((s) => (s.kind === 'mark' ? s.name : `${s.bytes}`));
    // 50 ms = two full frames and a 10 ms remainder sent before the mark.
    expect(order).toEqual(['160', '160', '80', 'first', '160', '160', 'second']);
    expect(sent.find((s) => s.name === 'first')!.atMs).toBe(40);
  });

  it('clear drops queued audio, returns pending marks and sends nothing more', async () => {
    const { clock, pacer, audio } = setup(60);
    pacer.enqueue(ms(500), 'a');
    pacer.enqueue(ms(500), 'b');
    await clock.advance(100);
    const before = audio().length;
    expect(pacer.clear()).toEqual(['a', 'b']);
    await clock.advance(1000);
    expect(audio().length).toBe(before);
    expect(pacer.queuedMs).toBe(0);
  });

  it('starts a new response at once after a clear', async () => {
    const { clock, pacer, audio } = setup(60);
    pacer.enqueue(ms(1000));
    await clock.advance(200);
    pacer.clear();
    const before = audio().length;
    pacer.enqueue(ms(100));
    expect(audio().length).toBeGreaterThan(before);
    expect(audio()[before]!.atMs).toBe(200);
  });

  it('counts an underrun when audio runs dry in the middle of an utterance', async () => {
    const { clock, pacer } = setup(60);
    pacer.enqueue(ms(40));
    await clock.advance(200);
    pacer.enqueue(ms(40));
    expect(pacer.stats.underruns).toBe(1);
    pacer.endUtterance();
    await clock.advance(200);
    pacer.enqueue(ms(40));
    expect(pacer.stats.underruns).toBe(1);
  });

  it('carries partial frames across chunks', async () => {
    const { clock, pacer, audio } = setup(1000);
    pacer.enqueue(ms(15));
    pacer.enqueue(ms(15));
    pacer.flushPartial();
    await clock.advance(100);
    expect(audio().map((s) => s.bytes)).toEqual([160, 80]);
  });
});
