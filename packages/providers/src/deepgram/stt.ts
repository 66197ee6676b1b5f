// Deepgram live speech-to-text over the v1 /listen WebSocket (reference/wire-protocols.md §5.1).
// Audio goes out as binary frames in the caller's format (μ-law 8 kHz from a phone line is forwarded
// untouched); Results / UtteranceEnd / SpeechStarted come back as JSON and are mapped to SttEvents.
// A dropped socket is reopened once per drop and every byte not yet covered by a final is replayed on
// the new one (audio written into a dead socket before we notice the drop included), so a network blip
// costs a short delay, not the words in flight.
import WebSocket from 'ws';
import type { RawData } from 'ws';
import {
  ALAW_8K,
  MULAW_8K,
  ProviderError,
  bytesForDurationMs,
  durationMs,
  providerErrorFromStatus,
  systemClock,
} from '@parley/voice';
import type {
  AudioFormat,
  Clock,
  SttCapabilities,
  SttEvent,
  SttProvider,
  SttStream,
  SttStreamOptions,
  TimerHandle,
} from '@parley/voice';

const PROVIDER = 'deepgram';

export interface DeepgramSttOptions {
  apiKey: string;
  /** Default `nova-3` (which takes `keyterm`; older models take `keywords`). */
  model?: 'nova-3' | (string & {});
  /** Default `wss://api.deepgram.com`; tests point it at the simulator. */
  baseUrl?: string;
  /** Word-gap that produces UtteranceEnd; Deepgram requires ≥ 1000. Default 1000. */
  utteranceEndMs?: number;
  /** Used when the stream options give no `endpointingMs` (Deepgram's own default, 10 ms, splits mid-sentence). */
  defaultEndpointingMs?: number;
  /** Default true. */
  smartFormat?: boolean;
  /** Default 5000. */
  connectTimeoutMs?: number;
  /** KeepAlive is sent after this long without sending anything. Deepgram closes after 10 s. Default 4000. */
  keepAliveIntervalMs?: number;
  /** Wait before reopening a dropped socket. Default 250. */
  reconnectDelayMs?: number;
  /** Most audio kept for replay after a drop (audio since the last final). Default 30000. */
  maxReplayMs?: number;
  /** How long close() waits for Deepgram's Metadata and close before cutting the socket. Default 5000. */
  closeTimeoutMs?: number;
  clock?: Clock;
}

const PCM16_RATES = [8000, 16000, 24000, 48000] as const;

export const DEEPGRAM_STT_CAPABILITIES: SttCapabilities = {
  inputFormats: [
    MULAW_8K,
    ALAW_8K,
    ...PCM16_RATES.map((sampleRateHz): AudioFormat => ({ encoding: 'pcm16', sampleRateHz, channels: 1 })),
  ],
  interimResults: true,
  utteranceEnd: true,
  finalize: true,
};

export class DeepgramStt implements SttProvider {
  readonly id = PROVIDER;
  readonly capabilities = DEEPGRAM_STT_CAPABILITIES;
  private readonly settings: Required<Omit<DeepgramSttOptions, 'apiKey'>>;
  private readonly apiKey: string;

  constructor(options: DeepgramSttOptions) {
    this.apiKey = options.apiKey;
    this.settings = {
      model: options.model ?? 'nova-3',
      baseUrl: options.baseUrl ?? 'wss://api.deepgram.com',
      utteranceEndMs: options.utteranceEndMs ?? 1000,
      defaultEndpointingMs: options.defaultEndpointingMs ?? 300,
      smartFormat: options.smartFormat ?? true,
      connectTimeoutMs: options.connectTimeoutMs ?? 5000,
      keepAliveIntervalMs: options.keepAliveIntervalMs ?? 4000,
      reconnectDelayMs: options.reconnectDelayMs ?? 250,
      closeTimeoutMs: options.closeTimeoutMs ?? 5000,
      maxReplayMs: options.maxReplayMs ?? 30_000,
      clock: options.clock ?? systemClock,
    };
  }

  async stream(options: SttStreamOptions): Promise<SttStream> {
    const { format } = options;
    const supported = this.capabilities.inputFormats.some(
      (f) =>
        f.encoding === format.encoding &&
        f.sampleRateHz === format.sampleRateHz &&
        f.channels === format.channels,
    );
    if (!supported) {
      throw new ProviderError(
        `deepgram: unsupported input format ${format.encoding}/${format.sampleRateHz}`,
        {
          category: 'bad_request',
          retryable: false,
          provider: PROVIDER,
        },
      );
    }
    if (options.signal.aborted) throw abortError();
    const stream = new DeepgramSttStream(
      listenUrl(this.settings, options),
      this.apiKey,
      this.settings,
      options,
    );
    await stream.open();
    return stream;
  }
}

function listenUrl(
  settings: Required<Omit<DeepgramSttOptions, 'apiKey'>>,
  options: SttStreamOptions,
): string {
  const query = new URLSearchParams({
    model: settings.model,
    encoding: options.format.encoding === 'pcm16' ? 'linear16' : options.format.encoding,
    sample_rate: String(options.format.sampleRateHz),
    channels: '1',
    interim_results: 'true',
    utterance_end_ms: String(settings.utteranceEndMs),
    vad_events: 'true',
    endpointing: String(options.endpointingMs ?? settings.defaultEndpointingMs),
    smart_format: String(settings.smartFormat),
    language: options.language,
  });
  const boostParam = settings.model.startsWith('nova-3') ? 'keyterm' : 'keywords';
  for (const keyword of options.keywords ?? []) query.append(boostParam, keyword);
  const base = settings.baseUrl.replace(/\/+$/, '');
  return `${base}/v1/listen?${query.toString()}`;
}

function abortError(): Error {
  return new DOMException('The stream was aborted', 'AbortError');
}

function networkError(message: string, cause?: unknown): ProviderError {
  return new ProviderError(message, {
    category: 'network',
    retryable: true,
    provider: PROVIDER,
    ...(cause === undefined ? {} : { cause }),
  });
}

/** Single-consumer async queue of events that can end cleanly or with an error. */
class EventQueue<T> {
  private readonly items: T[] = [];
  private ended = false;
  private error: unknown = undefined;
  private wake: (() => void) | null = null;

  push(item: T): void {
    if (this.ended) return;
    this.items.push(item);
    this.notify();
  }

  end(options: { discard?: boolean; error?: unknown } = {}): void {
    if (this.ended) return;
    this.ended = true;
    if (options.discard) this.items.length = 0;
    this.error = options.error;
    this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  async *iterate(): AsyncGenerator<T, void, undefined> {
    for (;;) {
      const item = this.items.shift();
      if (item !== undefined) {
        yield item;
        continue;
      }
      if (this.ended) {
        if (this.error !== undefined) throw this.error;
        return;
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }
}

type StreamState = 'connecting' | 'open' | 'reconnecting' | 'closing' | 'done';

class DeepgramSttStream implements SttStream {
  private readonly events = new EventQueue<SttEvent>();
  private readonly clock: Clock;
  private state: StreamState = 'connecting';
  private socket: WebSocket | null = null;
  /** Audio and control frames waiting for an open socket, in order. */
  private pending: (Uint8Array | string)[] = [];
  /** Audio sent on the current socket that no final covers yet, replayed if the socket drops. */
  private unacknowledged: Uint8Array[] = [];
  /** Socket-relative byte offset of unacknowledged[0]; everything before it is covered by a final. */
  private unacknowledgedStartByte = 0;
  private unacknowledgedBytes = 0;
  /** Audio time before the current socket's first byte: Deepgram restarts its clock on every connection. */
  private offsetMs = 0;
  private lastSendAtMs = 0;
  private keepAliveTimer: TimerHandle | null = null;
  private reconnectTimer: TimerHandle | null = null;
  private closeRequested = false;
  private readonly finished: Promise<void>;
  private resolveFinished!: () => void;

  constructor(
    private readonly url: string,
    private readonly apiKey: string,
    private readonly settings: Required<Omit<DeepgramSttOptions, 'apiKey'>>,
    private readonly options: SttStreamOptions,
  ) {
    this.clock = settings.clock;
    this.finished = new Promise((resolve) => (this.resolveFinished = resolve));
    options.signal.addEventListener('abort', this.onAbort, { once: true });
  }

  async open(): Promise<void> {
    try {
      this.attach(await this.connect());
    } catch (error) {
      this.finish({ discard: true });
      throw error;
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<SttEvent> {
    return this.events.iterate();
  }

  sendAudio(audio: Uint8Array): void {
    if (this.state === 'done' || this.closeRequested || audio.byteLength === 0) return;
    // Copied once, here: the caller may reuse its buffer, and the copy is what is kept for replay.
    const own = Uint8Array.from(audio);
    if (this.state === 'open' && this.socket) this.sendNow(own);
    else this.pending.push(own);
  }

  finalize(): void {
    if (this.state === 'done' || this.closeRequested) return;
    this.sendControl('Finalize');
  }

  async close(): Promise<void> {
    if (this.state === 'done') return;
    if (!this.closeRequested) {
      this.closeRequested = true;
      if (this.state === 'open') this.startClosing();
      // While reconnecting, closing starts once the socket is back (so buffered audio still counts).
    }
    await this.finished;
  }

  private startClosing(): void {
    this.state = 'closing';
    this.stopKeepAlive();
    this.sendNow(JSON.stringify({ type: 'CloseStream' }));
    const timer = this.clock.setTimer(this.settings.closeTimeoutMs, () => this.socket?.terminate());
    void this.finished.then(() => timer.cancel());
  }

  private sendControl(type: 'Finalize'): void {
    const frame = JSON.stringify({ type });
    if (this.state === 'open' && this.socket) this.sendNow(frame);
    else this.pending.push(frame);
  }

  private sendNow(frame: Uint8Array | string): void {
    const socket = this.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) {
      if (typeof frame !== 'string' || !frame.includes('CloseStream')) this.pending.push(frame);
      return;
    }
    if (typeof frame === 'string') {
      socket.send(frame);
    } else {
      socket.send(frame, { binary: true });
      this.keepForReplay(frame);
    }
    this.lastSendAtMs = this.clock.now();
  }

  private keepForReplay(audio: Uint8Array): void {
    this.unacknowledged.push(audio); // sendAudio's own copy
    this.unacknowledgedBytes += audio.byteLength;
    const maxBytes = bytesForDurationMs(this.settings.maxReplayMs, this.options.format);
    while (this.unacknowledgedBytes > maxBytes && this.unacknowledged.length > 1) this.dropOldest();
  }

  private dropOldest(): void {
    const oldest = this.unacknowledged.shift()!;
    this.unacknowledgedBytes -= oldest.byteLength;
    this.unacknowledgedStartByte += oldest.byteLength;
  }

  /** A final up to `endMs` (socket time) means the audio before it never needs replaying. */
  private acknowledge(endMs: number): void {
    const endByte = bytesForDurationMs(endMs, this.options.format);
    while (
      this.unacknowledged[0] &&
      this.unacknowledgedStartByte + this.unacknowledged[0].byteLength <= endByte
    ) {
      this.dropOldest();
    }
    const head = this.unacknowledged[0];
    const cut = endByte - this.unacknowledgedStartByte;
    if (head && cut > 0) {
      this.unacknowledged[0] = head.subarray(cut);
      this.unacknowledgedBytes -= cut;
      this.unacknowledgedStartByte += cut;
    }
  }

  private connect(): Promise<WebSocket> {
    return new Promise((resolve, reject) => {
      let socket: WebSocket;
      try {
        socket = new WebSocket(this.url, {
          headers: { Authorization: `Token ${this.apiKey}` },
          perMessageDeflate: false,
        });
      } catch (error) {
        // An unusable baseUrl throws synchronously; no request was made.
        reject(
          new ProviderError('deepgram: invalid listen URL', {
            category: 'bad_request',
            retryable: false,
            provider: PROVIDER,
            cause: error,
          }),
        );
        return;
      }
      let settled = false;
      const settle = (error?: unknown): void => {
        if (settled) return;
        settled = true;
        timer.cancel();
        this.options.signal.removeEventListener('abort', onAbort);
        if (error === undefined) {
          resolve(socket);
          return;
        }
        socket.removeAllListeners();
        socket.on('error', () => {}); // terminate() during the handshake emits one last error
        socket.terminate();
        reject(error);
      };
      const timer = this.clock.setTimer(this.settings.connectTimeoutMs, () =>
        settle(
          new ProviderError(`deepgram: no connection within ${this.settings.connectTimeoutMs} ms`, {
            category: 'timeout',
            retryable: true,
            provider: PROVIDER,
          }),
        ),
      );
      const onAbort = (): void => settle(abortError());
      this.options.signal.addEventListener('abort', onAbort, { once: true });
      socket.once('open', () => settle());
      socket.once('unexpected-response', (_request, response) => {
        response.resume();
        settle(providerErrorFromStatus(PROVIDER, response.statusCode ?? 0, 'listen handshake rejected'));
      });
      socket.on('error', (error) =>
        settle(networkError(`deepgram: connection failed (${errorCode(error)})`, error)),
      );
    });
  }

  private attach(socket: WebSocket): void {
    this.socket = socket;
    this.unacknowledged = [];
    this.unacknowledgedStartByte = 0;
    this.unacknowledgedBytes = 0;
    this.state = 'open';
    socket.on('message', (data: RawData, isBinary: boolean) => {
      if (!isBinary && socket === this.socket) this.onMessage(data);
    });
    socket.on('error', () => {
      // Always followed by 'close', which decides between reconnecting and failing.
    });
    socket.once('close', (code: number) => this.onClose(socket, code));
    this.lastSendAtMs = this.clock.now();
    const backlog = this.pending;
    this.pending = [];
    for (const frame of backlog) this.sendNow(frame);
    if (this.closeRequested) this.startClosing();
    else this.scheduleKeepAlive();
  }

  private scheduleKeepAlive(): void {
    this.stopKeepAlive();
    const dueInMs = this.lastSendAtMs + this.settings.keepAliveIntervalMs - this.clock.now();
    this.keepAliveTimer = this.clock.setTimer(dueInMs, () => {
      this.keepAliveTimer = null;
      if (this.state !== 'open') return;
      if (this.clock.now() - this.lastSendAtMs >= this.settings.keepAliveIntervalMs) {
        this.sendNow(JSON.stringify({ type: 'KeepAlive' }));
      }
      this.scheduleKeepAlive();
    });
  }

  private stopKeepAlive(): void {
    this.keepAliveTimer?.cancel();
    this.keepAliveTimer = null;
  }

  private onMessage(data: RawData): void {
    let message: DeepgramMessage;
    try {
      message = JSON.parse(rawText(data)) as DeepgramMessage;
    } catch (error) {
      this.fail(
        new ProviderError('deepgram: unparsable message', {
          category: 'protocol',
          retryable: true,
          provider: PROVIDER,
          cause: error,
        }),
      );
      return;
    }
    if (message.type === 'Results' && message.is_final && typeof message.start === 'number') {
      this.acknowledge((message.start + (message.duration ?? 0)) * 1000);
    }
    const event = toSttEvent(message, this.offsetMs);
    if (event) this.events.push(event);
  }

  private onClose(socket: WebSocket, code: number): void {
    if (socket !== this.socket || this.state === 'done') return;
    this.stopKeepAlive();
    if (this.state === 'closing') {
      this.finish();
      return;
    }
    // The new socket starts its clock at the first replayed byte.
    this.offsetMs += durationMs(this.unacknowledgedStartByte, this.options.format);
    this.pending = [...this.unacknowledged, ...this.pending];
    this.unacknowledged = [];
    this.socket = null;
    if (code === 1008) {
      // DATA-0000: Deepgram could not decode our audio; a new socket would get the same answer.
      this.fail(
        new ProviderError('deepgram rejected the audio (1008)', {
          category: 'bad_request',
          retryable: false,
          provider: PROVIDER,
          status: code,
        }),
      );
      return;
    }
    this.reconnect(code);
  }

  private reconnect(dropCode: number): void {
    this.state = 'reconnecting';
    this.reconnectTimer = this.clock.setTimer(this.settings.reconnectDelayMs, () => {
      this.reconnectTimer = null;
      if (this.state !== 'reconnecting') return;
      this.connect().then(
        (socket) => {
          if (this.state === 'reconnecting') this.attach(socket);
          else socket.terminate();
        },
        (error: unknown) => {
          if (this.state !== 'reconnecting') return;
          this.fail(networkError(`deepgram: socket dropped (${dropCode}) and reconnecting failed`, error));
        },
      );
    });
  }

  private fail(error: ProviderError): void {
    this.finish({ error });
  }

  private readonly onAbort = (): void => {
    // Aborting is silent: no CloseStream round trip, no error, nothing more yielded.
    this.finish({ discard: true });
  };

  private finish(options: { discard?: boolean; error?: unknown } = {}): void {
    if (this.state === 'done') return;
    this.state = 'done';
    this.stopKeepAlive();
    this.reconnectTimer?.cancel();
    this.reconnectTimer = null;
    this.pending = [];
    this.options.signal.removeEventListener('abort', this.onAbort);
    const socket = this.socket;
    this.socket = null;
    if (socket && socket.readyState === WebSocket.OPEN) socket.close(1000);
    else if (socket && socket.readyState === WebSocket.CONNECTING) socket.terminate();
    this.events.end(options);
    this.resolveFinished();
  }
}

interface DeepgramWord {
  word?: string;
  start?: number;
  end?: number;
}

interface DeepgramMessage {
  type?: string;
  start?: number;
  duration?: number;
  is_final?: boolean;
  speech_final?: boolean;
  from_finalize?: boolean;
  channel?: { alternatives?: { transcript?: string; confidence?: number; words?: DeepgramWord[] }[] };
  last_word_end?: number;
  timestamp?: number;
}

function secondsToMs(seconds: number | undefined, offsetMs: number): number | undefined {
  return typeof seconds === 'number' ? offsetMs + Math.round(seconds * 1000) : undefined;
}

/** Maps one Deepgram message to our event; undefined for what the core has no use for. */
function toSttEvent(message: DeepgramMessage, offsetMs: number): SttEvent | undefined {
  switch (message.type) {
    case 'Results': {
      const alternative = message.channel?.alternatives?.[0];
      const text = (alternative?.transcript ?? '').trim();
      const confidence = alternative?.confidence;
      if (!message.is_final) {
        if (!text) return undefined;
        return { type: 'interim', text, ...(confidence === undefined ? {} : { confidence }) };
      }
      const speechFinal = message.speech_final === true;
      const fromFinalize = message.from_finalize === true;
      // Empty finals are Deepgram's "nothing heard" heartbeats, unless they carry an endpoint or answer a Finalize.
      if (!text && !speechFinal && !fromFinalize) return undefined;
      const startMs = secondsToMs(message.start, offsetMs);
      const endMs =
        typeof message.start === 'number' && typeof message.duration === 'number'
          ? secondsToMs(message.start + message.duration, offsetMs)
          : undefined;
      return {
        type: 'final',
        text,
        speechFinal,
        fromFinalize,
        ...(confidence === undefined ? {} : { confidence }),
        ...(startMs === undefined ? {} : { startMs }),
        ...(endMs === undefined ? {} : { endMs }),
      };
    }
    case 'UtteranceEnd': {
      const lastWordEndMs = secondsToMs(message.last_word_end, offsetMs);
      return { type: 'utterance_end', ...(lastWordEndMs === undefined ? {} : { lastWordEndMs }) };
    }
    case 'SpeechStarted': {
      const atMs = secondsToMs(message.timestamp, offsetMs);
      return { type: 'speech_started', ...(atMs === undefined ? {} : { atMs }) };
    }
    default:
      return undefined; // Metadata and anything newer
  }
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data as ArrayBuffer).toString('utf8');
}

function errorCode(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : 'error';
}
