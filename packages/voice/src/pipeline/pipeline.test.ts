import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import type { Direction, Frame } from './frames.js';
import { FRAME_TRAITS } from './frames.js';
import { Pipeline } from './pipeline.js';
import { FrameProcessor, type FrameTransit } from './processor.js';

/** Records what it handles; a data frame of type `llm.text` with text "slow" blocks until released. */
class Recorder extends FrameProcessor {
  readonly seen: string[] = [];
  release: (() => void) | null = null;

  constructor(readonly name: string) {
    super();
  }

  protected override async process(frame: Frame, direction: Direction): Promise<void> {
    this.seen.push(label(frame));
    if (frame.type === 'llm.text' && frame.text === 'slow') {
      await new Promise<void>((resolve) => (this.release = resolve));
    }
    this.push(frame, direction);
  }
}

class SyncPassThrough extends FrameProcessor {
  readonly name = 'sync';
}

function label(frame: Frame): string {
  return frame.type === 'llm.text' ? `llm.text:${frame.text}` : frame.type;
}

function text(value: string, turnId = 1): Frame {
  return { type: 'llm.text', text: value, turnId, source: 'llm' };
}

describe('Pipeline', () => {
  it('passes frames downstream in order and reports those leaving the end', () => {
    const exits: string[] = [];
    const pipeline = new Pipeline([new SyncPassThrough(), new SyncPassThrough()], {
      clock: new ManualClock(),
      onExit: (frame, direction) => exits.push(`${direction}:${label(frame)}`),
    });
    pipeline.inject(text('a'));
    pipeline.inject(text('b'));
    pipeline.inject({ type: 'playback.mark', name: 'm' }, 'upstream');
    expect(exits).toEqual(['downstream:llm.text:a', 'downstream:llm.text:b', 'upstream:playback.mark']);
  });

  it('runs synchronous processors synchronously (no promise per audio frame)', () => {
    const exits: Frame[] = [];
    const pipeline = new Pipeline([new SyncPassThrough()], {
      clock: new ManualClock(),
      onExit: (f) => exits.push(f),
    });
    pipeline.inject({
      type: 'audio.in',
      audio: new Uint8Array(160),
      format: { encoding: 'mulaw', sampleRateHz: 8000, channels: 1 },
      atMs: 0,
    });
    expect(exits).toHaveLength(1);
  });

  it('lets system frames overtake data that is still being processed', async () => {
    const first = new Recorder('first');
    const exits: string[] = [];
    const pipeline = new Pipeline([first], { clock: new ManualClock(), onExit: (f) => exits.push(label(f)) });
    pipeline.inject(text('slow'));
    pipeline.inject(text('queued'));
    pipeline.inject({ type: 'transcript.interim', text: 'hi', atMs: 0 });
    // The interim was handled while "slow" is still in progress and "queued" waits behind it.
    expect(first.seen).toEqual(['llm.text:slow', 'transcript.interim']);
    first.release!();
    await Promise.resolve();
    await new Promise((resolve) => setImmediate(resolve));
    expect(exits).toEqual(['transcript.interim', 'llm.text:slow', 'llm.text:queued']);
  });

  it('an interruption drops queued data of aborted turns but keeps frames that survive', async () => {
    const first = new Recorder('first');
    const exits: string[] = [];
    const pipeline = new Pipeline([first], { clock: new ManualClock(), onExit: (f) => exits.push(label(f)) });
    const turn = pipeline.turns.begin();
    pipeline.inject(text('slow', turn.id));
    pipeline.inject(text('dropped', turn.id));
    pipeline.inject({ type: 'user.turn', text: 'kept', turnId: 99, atMs: 0, speculative: false });
    pipeline.interrupt('barge-in');
    expect(turn.signal.aborted).toBe(true);
    first.release!();
    await new Promise((resolve) => setImmediate(resolve));
    expect(exits).toContain('user.turn');
    expect(exits).toContain('interruption');
    expect(exits).not.toContain('llm.text:dropped');
  });

  it('drops data frames of an aborted turn that arrive later', () => {
    const exits: string[] = [];
    const pipeline = new Pipeline([new SyncPassThrough()], {
      clock: new ManualClock(),
      onExit: (f) => exits.push(label(f)),
    });
    const turn = pipeline.turns.begin();
    pipeline.turns.abort(turn.id, 'test');
    pipeline.inject(text('late', turn.id));
    expect(exits).toEqual([]);
  });

  it('tells observers about every hop', () => {
    const hops: FrameTransit[] = [];
    const pipeline = new Pipeline([new SyncPassThrough(), new SyncPassThrough()], {
      clock: new ManualClock(),
      observers: [{ onFrame: (transit) => hops.push(transit) }],
    });
    pipeline.inject(text('x'));
    expect(hops.map((hop) => [hop.from, hop.to])).toEqual([
      ['session', 'sync'],
      ['sync', 'sync'],
      ['sync', null],
    ]);
  });

  it('reports a throwing processor and keeps going', () => {
    class Thrower extends FrameProcessor {
      readonly name = 'thrower';
      protected override process(frame: Frame): void {
        if (frame.type === 'llm.text' && frame.text === 'bad') throw new Error('boom');
        this.push(frame);
      }
    }
    const failures: string[] = [];
    const exits: string[] = [];
    const pipeline = new Pipeline([new Thrower()], {
      clock: new ManualClock(),
      onExit: (f) => exits.push(label(f)),
      onProcessorError: (name, error) => failures.push(`${name}: ${(error as Error).message}`),
    });
    pipeline.inject(text('bad'));
    pipeline.inject(text('good'));
    expect(failures).toEqual(['thrower: boom']);
    expect(exits).toEqual(['llm.text:good']);
  });

  it('classifies every frame type', () => {
    for (const [type, traits] of Object.entries(FRAME_TRAITS)) {
      expect(['system', 'data', 'control'], type).toContain(traits.category);
      if (traits.category === 'system') expect(traits.survivesInterruption, type).toBe(true);
    }
  });
});
