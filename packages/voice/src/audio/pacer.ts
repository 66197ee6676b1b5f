// Outbound pacing on absolute deadlines. The far end plays audio in real time, so we model its
// playhead (when it will have played everything sent) and send each frame when it falls due: the
// playhead minus a small lead. One timer is armed for the next deadline; deadlines come from the
// model, never from "last wake + 20 ms", so timer lateness never accumulates into drift. The first
// frame of a response goes out at once, and a mark follows the last frame of its chunk so the
// carrier's echo of it tells us what the caller actually heard.
import type { Clock, TimerHandle } from '../clock.js';
import { bytesForDurationMs, durationMs, type AudioFormat } from './format.js';

export interface OutboundPacerOptions {
  clock: Clock;
  /** Encoding of the bytes given to `enqueue()` and passed to `sendAudio()`. */
  format: AudioFormat;
  /** Frame size sent to the carrier. Default 20 ms. */
  frameDurationMs?: number;
  /** How far ahead of the far end's playhead we may send; absorbs our own event-loop stalls. Default 60. */
  leadMs?: number;
  sendAudio(frame: Uint8Array): void;
  sendMark(name: string): void;
  /** Everything enqueued has been sent (the far end may still be playing it). */
  onDrained?(): void;
}

export interface PacerStats {
  framesSent: number;
  marksSent: number;
  /** Frames whose timer woke more than 20 ms after their deadline (our loop was late). */
  lateFrames: number;
  /** Audio arrived mid-utterance after the far end had already run dry (the caller heard a gap). */
  underruns: number;
}

type QueueItem = { kind: 'audio'; frame: Uint8Array; durationMs: number } | { kind: 'mark'; name: string };

/**
 * A frame sent more than this after its deadline counts as late, whatever the frame size: it is the
 * benchmark's frame deadline (one 20 ms carrier frame).
 */
const LATE_AFTER_MS = 20;
/** Timer wake-ups may land a little early (timer granularity); sending ≤ 1 ms early is harmless. */
const EARLY_WAKE_TOLERANCE_MS = 1;
/** Compact the queue array once this many sent items sit before its head. */
const QUEUE_COMPACT_THRESHOLD = 256;

export class OutboundPacer {
  readonly frameDurationMs: number;
  readonly leadMs: number;
  private readonly options: OutboundPacerOptions;
  private readonly frameBytes: number;
  private readonly counters: PacerStats = { framesSent: 0, marksSent: 0, lateFrames: 0, underruns: 0 };
  private queue: QueueItem[] = [];
  private queueHead = 0;
  /** Audio bytes in the queue (full frames and flushed partials). */
  private queuedBytes = 0;
  private queuedFrames = 0;
  /** The start of a frame not yet complete (chunks rarely end on a frame boundary). */
  private remainder: Uint8Array | null = null;
  /** Clock time at which the far end will have played everything sent so far. */
  private playheadEndMs = Number.NEGATIVE_INFINITY;
  private timer: TimerHandle | null = null;
  private timerDueMs = Number.NaN;
  /** Audio bytes enqueued since the utterance began (0: no utterance in progress). */
  private utteranceBytes = 0;
  /** The current dry spell has already been counted as an underrun. */
  private dryCounted = false;
  /** Something was enqueued that `onDrained` has not yet reported as sent. */
  private undrained = false;
  private pumping = false;
  private closed = false;

  constructor(options: OutboundPacerOptions) {
    this.options = options;
    this.frameDurationMs = options.frameDurationMs ?? 20;
    this.leadMs = options.leadMs ?? 60;
    this.frameBytes = bytesForDurationMs(this.frameDurationMs, options.format);
    if (this.frameBytes <= 0) throw new RangeError(`frame of ${this.frameDurationMs} ms holds no samples`);
  }

  /** A snapshot of the counters. */
  get stats(): PacerStats {
    return { ...this.counters };
  }

  /** Milliseconds of audio enqueued but not yet sent (including an incomplete trailing frame). */
  get queuedMs(): number {
    return durationMs(this.queuedBytes + (this.remainder?.byteLength ?? 0), this.options.format);
  }

  /** Milliseconds of sent audio the far end has not played yet (by our model of its playhead). */
  get unplayedMs(): number {
    return Math.max(0, this.playheadEndMs - this.options.clock.now());
  }

  /** Nothing left to send and the far end has played everything. */
  get isIdle(): boolean {
    return this.queuedItems() === 0 && !this.remainder && this.unplayedMs === 0;
  }

  /**
   * Queues `audio` (in the pacer's format) for sending in frames. An incomplete trailing frame waits
   * for the next call; with `markName` this chunk is complete: its last partial frame is sent as is
   * and the mark goes out right after it. The pacer keeps views into `audio` until they are sent, so
   * the caller must not reuse that buffer.
   */
  enqueue(audio: Uint8Array, markName?: string): void {
    if (this.closed) return;
    if (audio.byteLength > 0) {
      this.countUnderrun();
      this.utteranceBytes += audio.byteLength;
      this.split(audio);
      this.undrained = true;
      // The far end is silent and nothing is queued: the first audio of a response goes out now, even
      // less than a frame of it, rather than wait for the next chunk to fill the frame.
      if (this.queuedItems() === 0 && this.unplayedMs === 0) this.queueRemainder();
    }
    if (markName !== undefined) {
      this.queueRemainder();
      this.push({ kind: 'mark', name: markName });
      this.undrained = true;
    }
    this.pump(false);
  }

  /** Sends an incomplete trailing frame as it is (the end of a chunk that has no mark). */
  flushPartial(): void {
    if (this.closed || !this.remainder) return;
    this.queueRemainder();
    this.pump(false);
  }

  /**
   * The response is complete: its trailing partial frame goes out and a pause before the next audio
   * is a pause, not an underrun.
   */
  endUtterance(): void {
    if (this.closed) return;
    this.utteranceBytes = 0;
    this.flushPartial();
  }

  /**
   * Drops everything not yet sent and returns the names of the marks that will now never be sent,
   * in order. The caller tells the carrier to clear its buffer too, so the next audio starts at once.
   */
  clear(): string[] {
    const droppedMarks: string[] = [];
    for (let i = this.queueHead; i < this.queue.length; i++) {
      const item = this.queue[i]!;
      if (item.kind === 'mark') droppedMarks.push(item.name);
    }
    this.queue = [];
    this.queueHead = 0;
    this.queuedBytes = 0;
    this.queuedFrames = 0;
    this.remainder = null;
    this.cancelTimer();
    this.playheadEndMs = Math.min(this.playheadEndMs, this.options.clock.now());
    this.utteranceBytes = 0;
    this.dryCounted = false;
    this.undrained = false;
    return droppedMarks;
  }

  /** Stops for good: drops what is queued and ignores later audio. */
  close(): void {
    this.clear();
    this.closed = true;
  }

  private queuedItems(): number {
    return this.queue.length - this.queueHead;
  }

  private push(item: QueueItem): void {
    this.queue.push(item);
    if (item.kind === 'audio') {
      this.queuedBytes += item.frame.byteLength;
      this.queuedFrames++;
    }
  }

  private pushFrame(frame: Uint8Array): void {
    this.push({ kind: 'audio', frame, durationMs: durationMs(frame.byteLength, this.options.format) });
  }

  /** Cuts `audio` (after any carried remainder) into whole frames; keeps what is left over. */
  private split(audio: Uint8Array): void {
    const frameBytes = this.frameBytes;
    let offset = 0;
    if (this.remainder) {
      const carried = this.remainder;
      const needed = frameBytes - carried.byteLength;
      if (audio.byteLength < needed) {
        const grown = new Uint8Array(carried.byteLength + audio.byteLength);
        grown.set(carried);
        grown.set(audio, carried.byteLength);
        this.remainder = grown;
        return;
      }
      const frame = new Uint8Array(frameBytes);
      frame.set(carried);
      frame.set(audio.subarray(0, needed), carried.byteLength);
      this.pushFrame(frame);
      this.remainder = null;
      offset = needed;
    }
    for (; offset + frameBytes <= audio.byteLength; offset += frameBytes) {
      this.pushFrame(audio.subarray(offset, offset + frameBytes));
    }
    if (offset < audio.byteLength) this.remainder = audio.slice(offset);
  }

  private queueRemainder(): void {
    if (!this.remainder) return;
    this.pushFrame(this.remainder);
    this.remainder = null;
  }

  /**
   * Audio arriving for an utterance that has already started playing, when nothing is left to send
   * and the far end's playhead is behind the clock, means the caller heard silence mid-utterance.
   * (Whole frames are sent as soon as they are due, so an utterance of at least one frame has started.)
   */
  private countUnderrun(): void {
    if (this.dryCounted || this.queuedFrames > 0 || this.utteranceBytes < this.frameBytes) return;
    if (this.playheadEndMs >= this.options.clock.now()) return;
    this.counters.underruns++;
    this.dryCounted = true;
  }

  /** Sends every item that is due, then arms one timer for the next deadline. */
  private pump(woken: boolean): void {
    if (this.pumping) return; // a send callback enqueued more: the running loop picks it up
    this.pumping = true;
    try {
      const clock = this.options.clock;
      const tolerance = woken ? EARLY_WAKE_TOLERANCE_MS : 0;
      while (!this.closed && this.queueHead < this.queue.length) {
        const item = this.queue[this.queueHead]!;
        if (item.kind === 'mark') {
          this.queueHead++;
          this.counters.marksSent++;
          this.options.sendMark(item.name);
          continue;
        }
        const now = clock.now();
        const dueMs = this.playheadEndMs - this.leadMs;
        if (dueMs > now + tolerance) break;
        this.queueHead++;
        this.queuedBytes -= item.frame.byteLength;
        this.queuedFrames--;
        if (woken && now - dueMs > LATE_AFTER_MS) this.counters.lateFrames++;
        this.playheadEndMs = Math.max(this.playheadEndMs, now) + item.durationMs;
        this.dryCounted = false;
        this.counters.framesSent++;
        this.options.sendAudio(item.frame);
      }
    } finally {
      this.pumping = false;
    }
    this.compactQueue();
    this.arm();
    if (this.undrained && !this.closed && this.queuedItems() === 0 && !this.remainder) {
      this.undrained = false;
      this.options.onDrained?.();
    }
  }

  private arm(): void {
    if (this.closed || this.queuedItems() === 0) {
      this.cancelTimer();
      return;
    }
    // The head is a frame (marks never wait): it is due when the playhead is within the lead.
    const dueMs = this.playheadEndMs - this.leadMs;
    if (this.timer && this.timerDueMs === dueMs) return;
    this.cancelTimer();
    this.timerDueMs = dueMs;
    this.timer = this.options.clock.setTimer(dueMs - this.options.clock.now(), () => {
      this.timer = null;
      this.timerDueMs = Number.NaN;
      this.pump(true);
    });
  }

  private cancelTimer(): void {
    this.timer?.cancel();
    this.timer = null;
    this.timerDueMs = Number.NaN;
  }

  private compactQueue(): void {
    if (this.queueHead === this.queue.length) {
      this.queue.length = 0;
      this.queueHead = 0;
    } else if (this.queueHead >= QUEUE_COMPACT_THRESHOLD && this.queueHead * 2 >= this.queue.length) {
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
  }
}
