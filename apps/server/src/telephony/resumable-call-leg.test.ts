import { describe, expect, it } from 'vitest';
import { ManualClock, MULAW_8K, type CallTransport, type TransportEvent } from '@parley/voice';
import { ResumableCallLeg, resumableCallControl, STREAM_NOT_RESUMED } from './resumable-call-leg.js';

/** One carrier media stream: what the leg sent on it, and what the carrier says on it. */
class FakeStream implements CallTransport {
  readonly inputFormat = MULAW_8K;
  readonly outputFormat = MULAW_8K;
  readonly capabilities = { marks: true, sendDtmf: false, transfer: false };
  audioBytes = 0;
  readonly marks: string[] = [];
  clears = 0;
  hungUp: string | null = null;
  private listener: ((event: TransportEvent) => void) | null = null;

  setListener(listener: (event: TransportEvent) => void): void {
    this.listener = listener;
  }
  sendAudio(audio: Uint8Array): void {
    this.audioBytes += audio.byteLength;
  }
  sendMark(name: string): void {
    this.marks.push(name);
  }
  clear(): void {
    this.clears++;
  }
  async hangUp(reason: string): Promise<void> {
    this.hungUp ??= reason;
  }
  /** The carrier sends an event on this stream. */
  says(event: TransportEvent): void {
    this.listener?.(event);
  }
}

const CALLER_HUNG_UP: TransportEvent = { type: 'hangup', reason: 'caller hung up' };
const audio = (bytes: number) => new Uint8Array(bytes);

function leg(options: { clock?: ManualClock } = {}) {
  const clock = options.clock ?? new ManualClock();
  const first = new FakeStream();
  const failures: string[] = [];
  const resumable = new ResumableCallLeg(first, {
    clock,
    resumeTimeoutMs: 15_000,
    onResumeFailed: () => failures.push('resume failed'),
  });
  const heard: TransportEvent[] = [];
  resumable.setListener((event) => heard.push(event));
  return { clock, first, resumable, heard, failures };
}

/** Lets queued microtasks (the leg's deferred mark echoes) run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('ResumableCallLeg', () => {
  it('is the stream itself while nothing replaces it: a stream that ends is the caller hanging up', () => {
    const { first, resumable, heard } = leg();
    resumable.sendAudio(audio(160));
    resumable.sendMark('m1');
    resumable.clear();
    first.says({ type: 'audio', audio: audio(160) });
    first.says({ type: 'mark', name: 'm1' });
    first.says(CALLER_HUNG_UP);
    expect([first.audioBytes, first.marks, first.clears]).toEqual([160, ['m1'], 1]);
    expect(heard.map((e) => e.type)).toEqual(['audio', 'mark', 'hangup']);
    // No stream was expected: one arriving now is refused.
    expect(resumable.resume(new FakeStream())).toBe(false);
  });

  it('lives through a replaced stream: no hang-up, marks played, audio dropped, then the new stream', async () => {
    const { first, resumable, heard } = leg();
    resumable.sendAudio(audio(160));
    resumable.sendMark('before-1');
    resumable.sendMark('before-2');
    first.says({ type: 'mark', name: 'before-1' });
    resumable.expectResume();

    // The carrier ends the old stream (the tones are playing): its unplayed mark counts as played.
    first.says(CALLER_HUNG_UP);
    expect(heard).toEqual([
      { type: 'mark', name: 'before-1' },
      { type: 'mark', name: 'before-2' },
    ]);
    // What the agent says now cannot be heard: dropped, and its mark echoed at once.
    resumable.sendAudio(audio(320));
    resumable.sendMark('during');
    resumable.clear();
    await settle();
    expect(heard.at(-1)).toEqual({ type: 'mark', name: 'during' });
    expect([first.audioBytes, first.marks, first.clears]).toEqual([160, ['before-1', 'before-2'], 0]);

    const second = new FakeStream();
    expect(resumable.resume(second)).toBe(true);
    expect(first.hungUp).toBe('stream_replaced');
    resumable.sendAudio(audio(160));
    resumable.sendMark('after');
    second.says({ type: 'audio', audio: audio(160) });
    second.says({ type: 'mark', name: 'after' });
    // The old stream has nothing more to say to the session.
    first.says({ type: 'mark', name: 'late' });
    first.says({ type: 'hangup', reason: 'connection_lost' });
    expect([second.audioBytes, second.marks]).toEqual([160, ['after']]);
    expect(heard.slice(3).map((e) => (e.type === 'mark' ? e.name : e.type))).toEqual(['audio', 'after']);
    expect(heard.some((e) => e.type === 'hangup')).toBe(false);

    // The call goes on: the caller hanging up on the new stream ends it, and we hang up the new one.
    second.says(CALLER_HUNG_UP);
    expect(heard.at(-1)).toEqual(CALLER_HUNG_UP);
    await resumable.hangUp('agent_hangup');
    expect(second.hungUp).toBe('agent_hangup');
    expect(resumable.resumeFailed).toBe(false);
  });

  it('takes a new stream that arrives before the old one has ended, closing the old one quietly', () => {
    const { first, resumable, heard } = leg();
    resumable.sendMark('queued');
    resumable.expectResume();
    const second = new FakeStream();
    expect(resumable.resume(second)).toBe(true);
    expect(heard).toEqual([{ type: 'mark', name: 'queued' }]);
    expect(first.hungUp).toBe('stream_replaced');
    first.says(CALLER_HUNG_UP);
    expect(heard).toHaveLength(1);
    resumable.sendAudio(audio(160));
    expect([first.audioBytes, second.audioBytes]).toEqual([0, 160]);
  });

  it('fails the call when the new stream does not come in time, and ends it at the carrier', async () => {
    const { clock, first, resumable, heard, failures } = leg();
    const hangUps: string[] = [];
    resumable.endAtCarrierOnFailure(async () => {
      hangUps.push('carrier hang-up');
    });
    resumable.expectResume();
    await clock.advance(10_000);
    first.says(CALLER_HUNG_UP);
    // The wait restarts when the old stream ends.
    await clock.advance(14_999);
    expect(heard).toEqual([]);
    await clock.advance(1);
    expect(heard).toEqual([{ type: 'hangup', reason: STREAM_NOT_RESUMED }]);
    expect(resumable.resumeFailed).toBe(true);
    expect(failures).toEqual(['resume failed']);
    expect(hangUps).toEqual(['carrier hang-up']);
    // Too late now.
    expect(resumable.resume(new FakeStream())).toBe(false);
  });

  it('ends the call as the caller hanging up, at once, when the carrier reports it over between streams', async () => {
    const { clock, first, resumable, heard, failures } = leg();
    const hangUps: string[] = [];
    resumable.endAtCarrierOnFailure(async () => {
      hangUps.push('carrier hang-up');
    });
    resumable.expectResume();
    first.says(CALLER_HUNG_UP);
    expect(heard).toEqual([]);
    resumable.carrierEnded();
    expect(heard).toEqual([CALLER_HUNG_UP]);
    // No failure later: the wait is over.
    await clock.advance(15_000);
    expect(heard).toEqual([CALLER_HUNG_UP]);
    expect(resumable.resumeFailed).toBe(false);
    expect(failures).toEqual([]);
    expect(hangUps).toEqual([]);
    expect(resumable.resume(new FakeStream())).toBe(false);
  });

  it('leaves a carrier’s end to the stream itself when no replacement is awaited', () => {
    const { first, resumable, heard } = leg();
    resumable.carrierEnded();
    expect(heard).toEqual([]);
    first.says(CALLER_HUNG_UP);
    expect(heard).toEqual([CALLER_HUNG_UP]);
  });

  it('drops the expectation when the old stream never ends, and the call goes on', async () => {
    const { clock, first, resumable, heard } = leg();
    resumable.expectResume();
    await clock.advance(15_000);
    expect(resumable.resume(new FakeStream())).toBe(false);
    first.says(CALLER_HUNG_UP);
    expect(heard).toEqual([CALLER_HUNG_UP]);
    expect(resumable.resumeFailed).toBe(false);
  });

  it('reports the old stream’s end as the hang-up it was when the carrier refuses the keys', async () => {
    const { first, resumable, heard } = leg();
    const refused = new Error('HTTP 400');
    const carrier = {
      capabilities: { outbound: true, hangUp: true, transfer: true, sendDtmf: true, machineDetection: true },
      transfer: async () => {},
      hangUp: async () => {},
      sendDtmf: async () => {
        // The runtime is told before the carrier is asked (the dialer's onStreamReplacing)...
        resumable.expectResume();
        // ...the caller hangs up meanwhile, and the carrier refuses.
        first.says(CALLER_HUNG_UP);
        throw refused;
      },
    };
    const live = resumableCallControl(carrier, 'CA1', resumable);
    expect(live.canSendDtmf).toBe(true);
    await expect(live.sendDtmf('1')).rejects.toBe(refused);
    expect(heard).toEqual([CALLER_HUNG_UP]);
  });

  it('hangs up the stream it has, and refuses a stream after that', async () => {
    const { first, resumable } = leg();
    resumable.expectResume();
    await resumable.hangUp('agent_hangup');
    expect(first.hungUp).toBe('agent_hangup');
    expect(resumable.resume(new FakeStream())).toBe(false);
  });
});
