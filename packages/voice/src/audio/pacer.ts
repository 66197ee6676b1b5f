// Outbound pacing on absolute deadlines. The far end plays audio in real time; we model its playhead
// and send each frame when it is due (playhead minus a small lead), from one timer re-armed for the
// next deadline, never a chain of relative timers (which drifts about 1% per hop). The first frame of
// a response goes out at once; a mark follows the last frame of its chunk, so the carrier's echo of it
// tells us that chunk was heard.
import type { Clock, TimerHandle } from '../clock.js';
import { bytesForDurationMs, durationMs, type AudioFormat } from './format.js';

export interface OutboundPacerOptions {
  clock: Clock;
  format: AudioFormat;
  /** Default 20 ms, the carriers' frame. */
  frameDurationMs?: number;
  /** How far ahead of the far end's playhead we may send (absorbs our own event-loop stalls). Default 60. */
  leadMs?: number;
  sendAudio(frame: Uint8Array): void;
  sendMark(name: string): void;
  /** Everything queued has been sent. */
  onDrained?(): void;
}

export interface PacerStats {
  framesSent: number;
  /** Timer wake-ups more than a frame's duration after their deadline (our event loop was late). */
  lateFrames: number;
  /** Audio arrived after the far end had run dry in the middle of an utterance. */
  underruns: number;
}

type QueueItem = { kind: 'audio'; frame: Uint8Array } | { kind: 'mark'; name: string } | { kind: 'end' };

export class OutboundPacer {
  readonly stats: PacerStats = { framesSent: 0, lateFrames: 0, underruns: 0 };
  private readonly options: OutboundPacerOptions;
  private readonly frameBytes: number;
  private readonly frameMs: number;
  private readonly leadMs: number;
  private readonly queue: QueueItem[] = [];
  private queuedBytes = 0;
  /** Bytes of a frame not yet complete (chunks rarely end on a frame boundary). */
  private partial: Uint8Array | null = null;
  /** Clock time at which the far end will have played everything sent so far. */
  private playheadEndMs = Number.NEGATIVE_INFINITY;
  private timer: TimerHandle | null = null;
  /** An utterance is in progress (audio sent and no mark/clear closed it since). */
  private inUtterance = false;
  private closed = false;

  constructor(options: OutboundPacerOptions) {
    this.options = options;
    this.frameMs = options.frameDurationMs ?? 20;
    this.leadMs = options.leadMs ?? 60;
    this.frameBytes = bytesForDurationMs(this.frameMs, options.format);
  }

  /** Milliseconds of audio queued and not yet sent. */
  get queuedMs(): number {
    return durationMs(this.queuedBytes + (this.partial?.byteLength ?? 0), this.options.format);
  }

  /** Nothing queued and the far end has played everything. */
  get isIdle(): boolean {
    return this.queue.length === 0 && !this.partial && this.options.clock.now() >= this.playheadEndMs;
  }

  /**
   * Queues audio; with `markName`, a mark goes out right after the last frame of this audio (a
   * trailing partial frame is sent as is, so the mark lands exactly at the chunk's end).
   */
  enqueue(audio: Uint8Array, markName?: string): void {
    if (this.closed) return;
    let bytes = audio;
    if (this.partial) {
      const joined = new Uint8Array(this.partial.byteLength + audio.byteLength);
      joined.set(this.partial);
      joined.set(audio, this.partial.byteLength);
      bytes = joined;
      this.partial = null;
    }
    let offset = 0;
    for (; offset + this.frameBytes <= bytes.byteLength; offset += this.frameBytes) {
      this.pushFrame(bytes.subarray(offset, offset + this.frameBytes));
    }
    if (offset < bytes.byteLength) this.partial = bytes.slice(offset);
    if (markName !== undefined) {
      this.flushPartial();
      this.queue.push({ kind: 'mark', name: markName });
    }
    this.pump();
  }

  /** Sends a trailing partial frame as it is (end of an utterance). */
  flushPartial(): void {
    if (!this.partial) return;
    const frame = this.partial;
    this.partial = null;
    this.pushFrame(frame);
    this.pump();
  }

  /** The response is complete: a gap before the next audio is a pause, not an underrun. */
  endUtterance(): void {
    this.queue.push({ kind: 'end' });
    this.pump();
  }

  /** Drops everything not yet sent; returns the marks that will now never be sent. */
  clear(): string[] {
    const dropped = this.queue
      .filter((item) => item.kind === 'mark')
      .map((item) => (item as { name: string }).name);
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.partial = null;
    this.timer?.cancel();
    this.timer = null;
    // The carrier discards its buffer too: the next response starts from now.
    this.playheadEndMs = Math.min(this.playheadEndMs, this.options.clock.now());
    this.inUtterance = false;
    return dropped;
  }

  close(): void {
    this.closed = true;
    this.clear();
  }

  private pushFrame(frame: Uint8Array): void {
    this.queue.push({ kind: 'audio', frame });
    this.queuedBytes += frame.byteLength;
  }

  /** Sends every item that is due and arms one timer for the next deadline. */
  private pump(): void {
    if (this.closed) return;
    const clock = this.options.clock;
    for (;;) {
      const item = this.queue[0];
      if (!item) {
        this.timer?.cancel();
        this.timer = null;
        this.options.onDrained?.();
        return;
      }
      const now = clock.now();
      if (item.kind === 'mark') {
        this.queue.shift();
        this.options.sendMark(item.name);
        continue;
      }
      if (item.kind === 'end') {
        this.queue.shift();
        this.inUtterance = false;
        continue;
      }
      const dueAtMs = this.playheadEndMs - this.leadMs;
      if (now < dueAtMs) {
        if (!this.timer) {
          this.timer = clock.setTimer(dueAtMs - now, () => {
            this.timer = null;
            // Woken more than a frame after the deadline: our event loop was busy.
            if (clock.now() - dueAtMs > this.frameMs) this.stats.lateFrames++;
            this.pump();
          });
        }
        return;
      }
      this.queue.shift();
      this.queuedBytes -= item.frame.byteLength;
      if (this.playheadEndMs < now) {
        // The far end had nothing left to play: either a new response or a stall mid-utterance.
        if (this.inUtterance && this.playheadEndMs > Number.NEGATIVE_INFINITY) this.stats.underruns++;
        this.playheadEndMs = now;
      }
      this.playheadEndMs += durationMs(item.frame.byteLength, this.options.format);
      this.inUtterance = true;
      this.stats.framesSent++;
      this.options.sendAudio(item.frame);
    }
  }
}
