// The far end's playback buffer, as Twilio models it: agent audio plays in real time from when it
// arrives or when the audio before it finishes; a mark is echoed once everything queued before it has
// played; `clear` discards what has not played yet and returns the pending marks at once. It also
// keeps what was actually played, so a test can check what the caller heard.
import type { Clock, TimerHandle } from '@parley/voice';

const SAMPLES_PER_MS = 8;

interface PlayedSegment {
  startMs: number;
  /** Position in the heard timeline (8 kHz samples from the origin); back-to-back audio stays contiguous. */
  startSample: number;
  sampleCount: number;
  /** PCM16 8 kHz; null when samples are not kept. */
  samples: Int16Array | null;
}

export interface PhonePlayoutOptions<TMark> {
  clock: Clock;
  /** Clock time that sample 0 of `heardAudio()` stands for. */
  originMs: number;
  /** Keep played samples for `heardAudio()` (off for load runs). */
  keepSamples: boolean;
  /** Called when a mark's audio has played (or was cleared), in the order marks arrived. */
  onMarkPlayed: (mark: TMark) => void;
}

export class PhonePlayout<TMark> {
  private readonly segments: PlayedSegment[] = [];
  /** When everything received so far will have played. */
  private playEndMs: number;
  private endSample = 0;
  private readonly pendingMarks: { mark: TMark; dueMs: number }[] = [];
  private markTimer: TimerHandle | null = null;
  private closed = false;

  constructor(private readonly options: PhonePlayoutOptions<TMark>) {
    this.playEndMs = options.originMs;
  }

  /** Milliseconds of received audio not yet played at `nowMs`. */
  bufferedMs(nowMs: number): number {
    return Math.max(0, this.playEndMs - nowMs);
  }

  /** Queues PCM16 8 kHz audio that arrived at `nowMs`; returns when it starts playing. */
  addAudio(samples: Int16Array, nowMs: number): { playsAtMs: number } {
    const { originMs } = this.options;
    let startMs = this.playEndMs;
    let startSample = this.endSample;
    if (nowMs > this.playEndMs) {
      // The buffer ran dry: this audio starts now, after a gap of silence.
      startMs = nowMs;
      startSample = Math.max(this.endSample, Math.round((nowMs - originMs) * SAMPLES_PER_MS));
    }
    this.segments.push({
      startMs,
      startSample,
      sampleCount: samples.length,
      samples: this.options.keepSamples ? samples : null,
    });
    this.endSample = startSample + samples.length;
    this.playEndMs = startMs + samples.length / SAMPLES_PER_MS;
    return { playsAtMs: startMs };
  }

  addMark(mark: TMark, nowMs: number): void {
    if (this.closed) return;
    this.pendingMarks.push({ mark, dueMs: Math.max(nowMs, this.playEndMs) });
    this.flushDueMarks(nowMs);
  }

  /** Discards unplayed audio and echoes pending marks at once; returns how much audio was dropped. */
  clear(nowMs: number): { discardedMs: number } {
    const discardedMs = this.bufferedMs(nowMs);
    if (discardedMs > 0) {
      for (let i = this.segments.length - 1; i >= 0; i--) {
        const segment = this.segments[i]!;
        if (segment.startMs >= nowMs) {
          this.segments.splice(i, 1);
          continue;
        }
        const playedSamples = Math.floor((nowMs - segment.startMs) * SAMPLES_PER_MS);
        if (playedSamples < segment.sampleCount) {
          segment.sampleCount = playedSamples;
          segment.samples = segment.samples?.subarray(0, playedSamples) ?? null;
        }
        break;
      }
      const last = this.segments.at(-1);
      this.endSample = last ? last.startSample + last.sampleCount : 0;
      this.playEndMs = nowMs;
    }
    this.markTimer?.cancel();
    this.markTimer = null;
    for (const pending of this.pendingMarks.splice(0)) this.options.onMarkPlayed(pending.mark);
    return { discardedMs };
  }

  /** The call ended: nothing more plays and no mark is echoed. */
  close(): void {
    this.closed = true;
    this.markTimer?.cancel();
    this.markTimer = null;
    this.pendingMarks.length = 0;
  }

  /** What was played from the origin up to `untilMs`: PCM16 8 kHz, silence where nothing played. */
  heardAudio(untilMs: number): Int16Array {
    if (!this.options.keepSamples) throw new Error('heardAudio() needs the caller to record audio');
    const totalSamples = Math.max(0, Math.round((untilMs - this.options.originMs) * SAMPLES_PER_MS));
    const heard = new Int16Array(totalSamples);
    for (const segment of this.segments) {
      if (segment.startSample >= totalSamples || !segment.samples) continue;
      const count = Math.min(segment.sampleCount, totalSamples - segment.startSample);
      heard.set(segment.samples.subarray(0, count), segment.startSample);
    }
    return heard;
  }

  private flushDueMarks(nowMs: number): void {
    while (this.pendingMarks.length > 0 && this.pendingMarks[0]!.dueMs <= nowMs) {
      this.options.onMarkPlayed(this.pendingMarks.shift()!.mark);
    }
    this.markTimer?.cancel();
    this.markTimer = null;
    const next = this.pendingMarks[0];
    if (!next || this.closed) return;
    const { clock } = this.options;
    this.markTimer = clock.setTimer(next.dueMs - clock.now(), () => {
      this.markTimer = null;
      this.flushDueMarks(clock.now());
    });
  }
}
