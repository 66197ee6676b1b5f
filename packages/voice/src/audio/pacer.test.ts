import { describe, expect, it } from 'vitest';
import { ManualClock, type Clock } from '../clock.js';
import { MULAW_8K, PCM16_16K } from './format.js';
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
    pacer.enqueue(ms(20));
    pacer.enqueue(ms(15));
    pacer.enqueue(ms(15));
    pacer.flushPartial();
    await clock.advance(100);
    expect(audio().map((s) => s.bytes)).toEqual([160, 160, 80]);
  });

  it('sends the first audio of a response at once, even less than a frame, then whole frames', async () => {
    const clock = new ManualClock();
    const sent: { atMs: number; bytes: number }[] = [];
    const pacer = new OutboundPacer({
      clock,
      format: MULAW_8K,
      frameDurationMs: 40,
      leadMs: 60,
      sendAudio: (frame) => sent.push({ atMs: clock.now(), bytes: frame.byteLength }),
      sendMark: () => {},
    });
    // The synthesiser's first chunk is 25 ms: the caller hears it now, not when the next chunk comes.
    pacer.enqueue(ms(25));
    expect(sent).toEqual([{ atMs: 0, bytes: 200 }]);
    await clock.advance(10);
    pacer.enqueue(ms(100));
    await clock.advance(200);
    expect(sent.map((s) => s.bytes)).toEqual([200, 320, 320]);
    pacer.endUtterance();
    await clock.advance(100);
    expect(sent.map((s) => s.bytes)).toEqual([200, 320, 320, 160]);
  });

  it('sends a mark at once when its chunk has already gone out', async () => {
    const { clock, pacer, sent } = setup(60);
    pacer.enqueue(ms(40));
    await clock.advance(5);
    pacer.enqueue(new Uint8Array(0), 'done');
    expect(sent.map((s) => s.name ?? s.bytes)).toEqual([160, 160, 'done']);
    expect(sent.at(-1)!.atMs).toBe(5);
  });

  it('a mark waits for the frames before it, even across chunks', async () => {
    const { clock, pacer, sent } = setup(20);
    pacer.enqueue(ms(200), 'clause-1');
    pacer.enqueue(ms(100), 'clause-2');
    expect(sent.some((s) => s.kind === 'mark')).toBe(false);
    await clock.advance(1000);
    const marks = sent.filter((s) => s.kind === 'mark');
    expect(marks.map((s) => s.name)).toEqual(['clause-1', 'clause-2']);
    // 10 frames of clause 1 leave at 0, 0, 0..160 ms: its mark follows the 10th frame at 160 ms.
    expect(marks.map((s) => s.atMs)).toEqual([160, 260]);
    const indexOfMark = sent.findIndex((s) => s.name === 'clause-1');
    expect(sent.slice(0, indexOfMark).filter((s) => s.kind === 'audio')).toHaveLength(10);
  });

  it('keeps exactly one timer armed, whatever is enqueued', async () => {
    const { clock, pacer } = setup(60);
    for (let i = 0; i < 20; i++) {
      pacer.enqueue(ms(37), i % 3 === 0 ? `m${i}` : undefined);
      expect(clock.pendingTimerCount).toBeLessThanOrEqual(1);
      await clock.advance(7);
      expect(clock.pendingTimerCount).toBeLessThanOrEqual(1);
    }
    await clock.advance(2000);
    expect(clock.pendingTimerCount).toBe(0);
  });

  it('catches up after a late wake without shifting later deadlines', async () => {
    const manual = new ManualClock();
    let lateByMs = 0;
    // A clock whose next timer fires `lateByMs` late, like an event loop stalled by a long task.
    const clock: Clock = {
      now: () => manual.now(),
      setTimer: (delayMs, callback) => {
        const extra = lateByMs;
        lateByMs = 0;
        return manual.setTimer(delayMs + extra, callback);
      },
    };
    const sent: number[] = [];
    const pacer = new OutboundPacer({
      clock,
      format: MULAW_8K,
      leadMs: 60,
      sendAudio: () => sent.push(manual.now()),
      sendMark: () => {},
    });
    lateByMs = 45; // the timer armed for the frame due at 20 ms fires at 65 ms
    pacer.enqueue(ms(400));
    await manual.advance(20);
    await manual.advance(400);
    expect(sent.slice(0, 8)).toEqual([0, 0, 0, 0, 65, 65, 65, 80]);
    // Frames 5 and 6 (due at 20 and 40) were more than a frame late; frame 7 (due 60) was not.
    expect(pacer.stats.lateFrames).toBe(2);
    expect(sent.at(-1)).toBe(19 * 20 - 60);
    expect(sent).toHaveLength(20);
  });

  it('counts a stall between clauses of one utterance as an underrun', async () => {
    const { clock, pacer } = setup(60);
    pacer.enqueue(ms(60), 't1.0');
    await clock.advance(300); // the next clause's audio is late: the caller hears silence
    pacer.enqueue(ms(60), 't1.1');
    expect(pacer.stats.underruns).toBe(1);
    pacer.enqueue(new Uint8Array(0), 't1.end');
    pacer.endUtterance();
    await clock.advance(1000);
    pacer.enqueue(ms(60), 't2.0'); // a new reply after a pause is not an underrun
    expect(pacer.stats.underruns).toBe(1);
  });

  it('does not count audio that arrives while the far end is still playing', async () => {
    const { clock, pacer } = setup(60);
    pacer.enqueue(ms(200));
    for (let i = 0; i < 10; i++) {
      await clock.advance(100);
      pacer.enqueue(ms(100));
    }
    expect(pacer.stats.underruns).toBe(0);
  });

  it('reports queued audio and idleness', async () => {
    const { clock, pacer } = setup(60);
    expect(pacer.isIdle).toBe(true);
    pacer.enqueue(ms(205));
    // 4 frames went out at once; 6 whole frames and 5 ms wait.
    expect(pacer.queuedMs).toBe(125);
    expect(pacer.unplayedMs).toBe(80);
    expect(pacer.isIdle).toBe(false);
    pacer.flushPartial();
    await clock.advance(1000);
    expect(pacer.queuedMs).toBe(0);
    expect(pacer.isIdle).toBe(true);
    expect(pacer.stats.framesSent).toBe(11);
  });

  it('calls onDrained once everything enqueued has been sent', async () => {
    const clock = new ManualClock();
    let drained = 0;
    let framesAtDrain = -1;
    let frames = 0;
    const pacer = new OutboundPacer({
      clock,
      format: MULAW_8K,
      sendAudio: () => frames++,
      sendMark: () => {},
      onDrained: () => {
        drained++;
        framesAtDrain = frames;
      },
    });
    pacer.enqueue(ms(200), 'end');
    await clock.advance(50);
    expect(drained).toBe(0);
    await clock.advance(500);
    expect(drained).toBe(1);
    expect(framesAtDrain).toBe(10);
    pacer.enqueue(ms(30)); // a frame goes out, an incomplete one is still waiting: not drained
    await clock.advance(100);
    expect(drained).toBe(1);
  });

  it('drops pending marks and a partial frame on clear, and nothing arrives afterwards', async () => {
    const { clock, pacer, sent } = setup(60);
    pacer.enqueue(ms(30), 'a');
    pacer.enqueue(ms(300), 'b');
    pacer.enqueue(ms(15));
    expect(sent.filter((s) => s.kind === 'mark').map((s) => s.name)).toEqual(['a']);
    expect(pacer.clear()).toEqual(['b']);
    const count = sent.length;
    pacer.flushPartial();
    await clock.advance(1000);
    expect(sent).toHaveLength(count);
    expect(clock.pendingTimerCount).toBe(0);
  });

  it('sends nothing after close and ignores later audio', async () => {
    const { clock, pacer, sent } = setup(60);
    pacer.enqueue(ms(500), 'x');
    const count = sent.length;
    pacer.close();
    pacer.enqueue(ms(100), 'y');
    await clock.advance(1000);
    expect(sent).toHaveLength(count);
  });

  it('frames PCM16 by duration (20 ms at 16 kHz is 640 bytes)', async () => {
    const clock = new ManualClock();
    const sizes: number[] = [];
    const pacer = new OutboundPacer({
      clock,
      format: PCM16_16K,
      sendAudio: (frame) => sizes.push(frame.byteLength),
      sendMark: () => {},
    });
    pacer.enqueue(new Uint8Array(32000 / 10 + 100), 'end'); // 100 ms and a bit
    await clock.advance(500);
    expect(sizes).toEqual([640, 640, 640, 640, 640, 100]);
  });

  it('may be fed from inside its own send callback', async () => {
    const clock = new ManualClock();
    const sent: string[] = [];
    let fed = false;
    const pacer: OutboundPacer = new OutboundPacer({
      clock,
      format: MULAW_8K,
      leadMs: 0,
      sendAudio: (frame) => {
        sent.push(`a${frame.byteLength}`);
        if (!fed) {
          fed = true;
          pacer.enqueue(ms(20), 'inner');
        }
      },
      sendMark: (name) => sent.push(name),
    });
    pacer.enqueue(ms(20), 'outer');
    await clock.advance(100);
    expect(sent).toEqual(['a160', 'outer', 'a160', 'inner']);
  });
});
