// A call leg with no network: the far end is a simulated phone that plays what it receives in real
// time on the session's clock, echoes marks when the audio before them has played (as Twilio does),
// and records what the caller heard. Used by tests and by `parley call simulate`-style harnesses.
import type { Clock, TimerHandle } from '../clock.js';
import { durationMs } from '../audio/format.js';
import type { AudioFormat } from '../audio/format.js';
import {
  CALLER_HUNG_UP,
  type CallTransport,
  type TransportCapabilities,
  type TransportEvent,
} from './transport.js';

export interface ReceivedAudio {
  audio: Uint8Array;
  /** Clock time the frame arrived. */
  atMs: number;
  /** Clock time the far end starts playing it. */
  playsAtMs: number;
}

export interface InMemoryCallOptions {
  clock: Clock;
  inputFormat: AudioFormat;
  outputFormat: AudioFormat;
  capabilities?: Partial<TransportCapabilities>;
}

export class InMemoryCall {
  readonly transport: CallTransport;
  readonly received: ReceivedAudio[] = [];
  readonly marksSent: { name: string; atMs: number }[] = [];
  readonly marksEchoed: { name: string; atMs: number }[] = [];
  readonly clears: number[] = [];
  readonly dtmfSent: string[] = [];
  readonly transfers: string[] = [];
  hangUpReason: string | null = null;
  private listener: ((event: TransportEvent) => void) | null = null;
  private readonly clock: Clock;
  private readonly outputFormat: AudioFormat;
  /** When the far end will have played everything received so far. */
  private playEndMs = 0;
  private readonly pendingMarks = new Map<string, TimerHandle>();

  constructor(options: InMemoryCallOptions) {
    this.clock = options.clock;
    this.outputFormat = options.outputFormat;
    const capabilities: TransportCapabilities = {
      marks: true,
      sendDtmf: true,
      transfer: true,
      ...options.capabilities,
    };
    this.transport = {
      inputFormat: options.inputFormat,
      outputFormat: options.outputFormat,
      capabilities,
      setListener: (listener) => (this.listener = listener),
      sendAudio: (audio) => this.onAudio(audio),
      sendMark: (name) => this.onMark(name),
      clear: () => this.onClear(),
      sendDtmf: async (digits) => {
        this.dtmfSent.push(digits);
      },
      transfer: async (destination) => {
        this.transfers.push(destination);
      },
      hangUp: async (reason) => {
        this.hangUpReason ??= reason;
      },
    };
  }

  /** The caller's microphone: audio in the transport's input format. */
  speak(audio: Uint8Array): void {
    this.listener?.({ type: 'audio', audio });
  }

  pressDigit(digit: string): void {
    this.listener?.({ type: 'dtmf', digit });
  }

  /** The caller hangs up. */
  hangUp(reason = CALLER_HUNG_UP): void {
    this.listener?.({ type: 'hangup', reason });
  }

  /** Total agent audio received, in ms of playback. */
  get receivedAudioMs(): number {
    return this.received.reduce(
      (sum, frame) => sum + durationMs(frame.audio.byteLength, this.outputFormat),
      0,
    );
  }

  private onAudio(audio: Uint8Array): void {
    const now = this.clock.now();
    const playsAtMs = Math.max(now, this.playEndMs);
    this.playEndMs = playsAtMs + durationMs(audio.byteLength, this.outputFormat);
    this.received.push({ audio, atMs: now, playsAtMs });
  }

  private onMark(name: string): void {
    const now = this.clock.now();
    this.marksSent.push({ name, atMs: now });
    const timer = this.clock.setTimer(Math.max(0, this.playEndMs - now), () => this.echo(name));
    this.pendingMarks.set(name, timer);
  }

  private onClear(): void {
    const now = this.clock.now();
    this.clears.push(now);
    // Unplayed audio is discarded; pending marks come back at once.
    this.playEndMs = Math.min(this.playEndMs, now);
    for (const [name, timer] of [...this.pendingMarks]) {
      timer.cancel();
      this.echo(name);
    }
  }

  private echo(name: string): void {
    if (!this.pendingMarks.delete(name)) return;
    this.marksEchoed.push({ name, atMs: this.clock.now() });
    this.listener?.({ type: 'mark', name });
  }
}
