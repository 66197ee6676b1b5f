// A Deepgram-style live STT server (v1 /listen, reference/wire-protocols.md §5.1) for tests and the bench.
// It listens to the audio itself — an energy detector on the decoded samples, in audio time — so real
// recordings drive SpeechStarted / interims / finals / UtteranceEnd exactly where a vendor would. What
// was *said* comes from a side channel (queued texts or a function), since recognising words is not
// what we test. Wall-clock time is used only for the idle timeout and the final latency.
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { RawData, WebSocket } from 'ws';
import { decodeAlaw, decodeMulaw, pcm16BytesToSamples, pcm16Dbfs, systemClock } from '@parley/voice';
import type { Clock, TimerHandle } from '@parley/voice';
import { lognormalFromPercentiles, seededRandom } from './distributions.js';
import type { Distribution } from './distributions.js';

/** A delay in milliseconds: fixed, a function, or a distribution (see distributions.ts). */
export type DelayMs = number | (() => number) | Distribution;

export interface TranscriptSourceContext {
  /** 1-based id of the connection (see `sessions`). */
  sessionId: number;
  /** 0-based index of the utterance within that connection. */
  utteranceIndex: number;
}

export type TranscriptSource = (context: TranscriptSourceContext) => string | undefined;

export interface SttSimulatorOptions {
  /** When set, the upgrade must carry `Authorization: Token <apiKey>` (else 401). */
  apiKey?: string;
  /** Closes with 1011 / NET-0001 after this long without audio or a text message. Deepgram: 10 s. */
  idleTimeoutMs?: number;
  /** Delay between the end of speech being detected and the final going out. Default log-normal p50 150 / p99 350 ms. */
  finalLatencyMs?: DelayMs;
  /** Seeds the default latency distribution (reproducible runs). */
  seed?: number;
  /** Audio time between interim results while speech continues. */
  interimIntervalMs?: number;
  /** Audio time per word when revealing the side-channel transcript in interims. */
  msPerWord?: number;
  /** Frame level at or above which a 20 ms frame counts as speech. Default -40 dBFS. */
  speechThresholdDbfs?: number;
  /** Consecutive speech needed to declare onset (rejects clicks). */
  minSpeechMs?: number;
  /** Used when the query has no `endpointing` (Deepgram's own default is 10 ms). */
  defaultEndpointingMs?: number;
  clock?: Clock;
}

export interface ReceivedMessage {
  /** `clock.now()` when it arrived (monotonic). */
  atMs: number;
  kind: 'audio' | 'text';
  byteLength: number;
  /** `type` of a JSON text message (KeepAlive, Finalize, CloseStream, ...). */
  type?: string;
}

export interface SentFinal {
  atMs: number;
  text: string;
  speechFinal: boolean;
  fromFinalize: boolean;
}

export interface SttSimSession {
  id: number;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  bytesReceived: number;
  messagesReceived: ReceivedMessage[];
  /** Every JSON message sent, in order. */
  sent: { atMs: number; message: Record<string, unknown> }[];
  finalsSent: SentFinal[];
  open: boolean;
  closeCode?: number;
  closeReason?: string;
  /** Who ended the connection. */
  closedBy?: 'client' | 'server' | 'dropped';
}

export interface SttSimulator {
  /** WebSocket base URL, e.g. ws://127.0.0.1:1234 (the adapter appends /v1/listen). */
  readonly url: string;
  readonly apiKey: string | undefined;
  readonly idleTimeoutMs: number;
  readonly sessions: readonly SttSimSession[];
  queueUtterance(text: string): void;
  /** Consulted when the queue is empty. */
  setTranscriptSource(source: TranscriptSource | undefined): void;
  /** Changes the key new connections must present (undefined: no auth check). */
  setApiKey(apiKey: string | undefined): void;
  /** Resolves once `predicate` holds, re-checking whenever the simulator's state changes. */
  waitFor(predicate: () => boolean, timeoutMs?: number): Promise<void>;
  /** Kills every open connection without a close frame (as a network failure would). */
  dropConnections(): void;
  close(): Promise<void>;
}

const SUPPORTED_ENCODINGS = ['linear16', 'mulaw', 'alaw'] as const;
type SimEncoding = (typeof SUPPORTED_ENCODINGS)[number];
// Known to Deepgram but not decodable here: still a valid query, so say so rather than "unknown".
const OTHER_DEEPGRAM_ENCODINGS = [
  'linear32',
  'flac',
  'amr-nb',
  'amr-wb',
  'opus',
  'ogg-opus',
  'speex',
  'g729',
];
const FRAME_MS = 20;

function sampleDelayMs(delay: DelayMs): number {
  const value = typeof delay === 'number' ? delay : typeof delay === 'function' ? delay() : delay.sample();
  return Math.max(0, value);
}

interface SessionConfig {
  encoding: SimEncoding;
  sampleRateHz: number;
  interimResults: boolean;
  vadEvents: boolean;
  /** null: endpointing disabled. */
  endpointingMs: number | null;
  utteranceEndMs: number | null;
}

function isSimEncoding(encoding: string): encoding is SimEncoding {
  return (SUPPORTED_ENCODINGS as readonly string[]).includes(encoding);
}

function parseQuery(query: URLSearchParams, defaultEndpointingMs: number): SessionConfig | string {
  const encoding = query.get('encoding');
  if (encoding === null) return 'the simulator needs raw audio: set encoding';
  if (!isSimEncoding(encoding)) {
    return OTHER_DEEPGRAM_ENCODINGS.includes(encoding)
      ? `the simulator cannot decode encoding ${encoding}`
      : `unknown encoding ${encoding}`;
  }
  const sampleRateHz = Number(query.get('sample_rate'));
  if (!Number.isInteger(sampleRateHz) || sampleRateHz < 8000 || sampleRateHz > 48000) {
    return 'sample_rate is required for raw audio (8000-48000)';
  }
  const channels = query.get('channels') ?? '1';
  if (channels !== '1') return 'the simulator handles one channel';
  const interimResults = query.get('interim_results') === 'true';
  const endpointing = query.get('endpointing');
  let endpointingMs: number | null = defaultEndpointingMs;
  if (endpointing === 'false') endpointingMs = null;
  else if (endpointing !== null) {
    endpointingMs = Number(endpointing);
    if (!Number.isFinite(endpointingMs) || endpointingMs < 0) return 'endpointing must be ms or false';
  }
  const utteranceEnd = query.get('utterance_end_ms');
  let utteranceEndMs: number | null = null;
  if (utteranceEnd !== null) {
    utteranceEndMs = Number(utteranceEnd);
    if (!Number.isFinite(utteranceEndMs) || utteranceEndMs < 1000) return 'utterance_end_ms must be >= 1000';
    if (!interimResults) return 'utterance_end_ms needs interim_results=true';
  }
  return {
    encoding,
    sampleRateHz,
    interimResults,
    vadEvents: query.get('vad_events') === 'true',
    endpointingMs,
    utteranceEndMs,
  };
}

function rejectUpgrade(
  socket: Duplex,
  status: number,
  statusText: string,
  body: Record<string, unknown>,
): void {
  const json = JSON.stringify(body);
  socket.end(
    `HTTP/1.1 ${status} ${statusText}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(json)}\r\n` +
      `Connection: close\r\n\r\n${json}`,
  );
}

export async function startSttSimulator(options: SttSimulatorOptions = {}): Promise<SttSimulator> {
  const clock = options.clock ?? systemClock;
  const idleTimeoutMs = options.idleTimeoutMs ?? 10_000;
  const finalLatency =
    options.finalLatencyMs ?? lognormalFromPercentiles(150, 350, seededRandom(options.seed ?? 1));
  const interimIntervalMs = options.interimIntervalMs ?? 300;
  const msPerWord = options.msPerWord ?? 300;
  const speechThresholdDbfs = options.speechThresholdDbfs ?? -40;
  const onsetFrames = Math.max(1, Math.ceil((options.minSpeechMs ?? 60) / FRAME_MS));
  const defaultEndpointingMs = options.defaultEndpointingMs ?? 10;
  let apiKey = options.apiKey;
  let transcriptSource: TranscriptSource | undefined;
  const queue: string[] = [];
  const sessions: SttSimSession[] = [];
  const sockets = new Map<WebSocket, SttSimSession>();
  const waiters = new Set<() => void>();

  function changed(): void {
    for (const check of [...waiters]) check();
  }

  function nextTranscript(context: TranscriptSourceContext): string {
    return queue.shift() ?? transcriptSource?.(context) ?? '';
  }

  const httpServer = createServer((_request, response) => {
    response.writeHead(426, { 'Content-Type': 'text/plain' }).end('WebSocket only');
  });
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });

  httpServer.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname !== '/v1/listen') {
      rejectUpgrade(socket, 404, 'Not Found', { err_code: 'NOT_FOUND', err_msg: 'Unknown path.' });
      return;
    }
    if (apiKey !== undefined && request.headers.authorization !== `Token ${apiKey}`) {
      rejectUpgrade(socket, 401, 'Unauthorized', {
        err_code: 'INVALID_AUTH',
        err_msg: 'Invalid credentials.',
      });
      return;
    }
    const config = parseQuery(url.searchParams, defaultEndpointingMs);
    if (typeof config === 'string') {
      rejectUpgrade(socket, 400, 'Bad Request', { err_code: 'Bad Request', err_msg: config });
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => {
      const session: SttSimSession = {
        id: sessions.length + 1,
        query: url.searchParams,
        headers: request.headers,
        bytesReceived: 0,
        messagesReceived: [],
        sent: [],
        finalsSent: [],
        open: true,
      };
      sessions.push(session);
      sockets.set(ws, session);
      runSession(ws, session, config);
      changed();
    });
  });

  function runSession(ws: WebSocket, session: SttSimSession, config: SessionConfig): void {
    const requestId = `sim-${session.id}`;
    const frameSamples = Math.round((config.sampleRateHz * FRAME_MS) / 1000);
    const frameBytes = frameSamples * (config.encoding === 'linear16' ? 2 : 1);
    let remainder = Buffer.alloc(0);
    let audioMs = 0; // audio time processed, in whole frames
    let speechRun = 0;
    let speechRunStartMs = 0;
    let utteranceIndex = 0;
    let utterance: {
      startMs: number;
      lastSpeechMs: number;
      words: string[];
      nextInterimAtMs: number;
      finalized: boolean;
    } | null = null;
    let pendingUtteranceEndAtMs: number | null = null; // last word end awaiting the UtteranceEnd gap
    let closing = false;

    // Ordered outbox: each message has a not-before time that never goes backwards, so a delayed
    // final is never overtaken by the UtteranceEnd or interims that follow it.
    const outbox: { dueAtMs: number; message: Record<string, unknown>; final?: Omit<SentFinal, 'atMs'> }[] =
      [];
    let outboxTimer: TimerHandle | null = null;
    let lastDueAtMs = 0;
    let drained: (() => void) | null = null;

    function send(message: Record<string, unknown>, delayMs = 0, final?: Omit<SentFinal, 'atMs'>): void {
      lastDueAtMs = Math.max(lastDueAtMs, clock.now() + delayMs);
      outbox.push({ dueAtMs: lastDueAtMs, message, ...(final ? { final } : {}) });
      pump();
    }

    function pump(): void {
      if (outboxTimer) return;
      const head = outbox[0];
      if (!head) {
        drained?.();
        return;
      }
      outboxTimer = clock.setTimer(head.dueAtMs - clock.now(), () => {
        outboxTimer = null;
        while (outbox[0] && outbox[0].dueAtMs <= clock.now()) {
          const item = outbox.shift()!;
          if (!session.open) continue;
          ws.send(JSON.stringify(item.message));
          const atMs = clock.now();
          session.sent.push({ atMs, message: item.message });
          if (item.final) session.finalsSent.push({ atMs, ...item.final });
        }
        changed();
        pump();
      });
    }

    function whenDrained(): Promise<void> {
      if (outbox.length === 0 && !outboxTimer) return Promise.resolve();
      return new Promise((resolve) => (drained = resolve));
    }

    let idleTimer: TimerHandle = clock.setTimer(idleTimeoutMs, onIdle);
    function touch(): void {
      idleTimer.cancel();
      idleTimer = clock.setTimer(idleTimeoutMs, onIdle);
    }
    function onIdle(): void {
      if (!session.open || closing) return;
      session.closedBy = 'server';
      ws.close(1011, 'NET-0001: no audio or KeepAlive received within the timeout window');
    }

    function results(
      words: string[],
      startMs: number,
      endMs: number,
      flags: { isFinal: boolean; speechFinal: boolean; fromFinalize: boolean },
    ): Record<string, unknown> {
      const wordMs = words.length > 0 ? (endMs - startMs) / words.length : 0;
      return {
        type: 'Results',
        channel_index: [0, 1],
        duration: (endMs - startMs) / 1000,
        start: startMs / 1000,
        is_final: flags.isFinal,
        speech_final: flags.speechFinal,
        from_finalize: flags.fromFinalize,
        channel: {
          alternatives: [
            {
              transcript: words.join(' '),
              confidence: words.length > 0 ? 0.98 : 0,
              languages: ['en'],
              words: words.map((word, i) => ({
                word: word.toLowerCase().replace(/[^\p{L}\p{N}'-]/gu, ''),
                start: (startMs + i * wordMs) / 1000,
                end: (startMs + (i + 1) * wordMs) / 1000,
                confidence: 0.98,
                punctuated_word: word,
              })),
            },
          ],
        },
        metadata: {
          request_id: requestId,
          model_uuid: '00000000-0000-0000-0000-000000000000',
          model_info: { name: 'general-nova-3', version: 'sim', arch: 'nova-3' },
        },
      };
    }

    function sendFinal(flags: { speechFinal: boolean; fromFinalize: boolean }, delayMs: number): void {
      const words = utterance && !utterance.finalized ? utterance.words : [];
      const startMs = utterance && !utterance.finalized ? utterance.startMs : audioMs;
      const message = results(words, startMs, audioMs, { isFinal: true, ...flags });
      send(message, delayMs, { text: words.join(' '), ...flags });
      if (utterance) utterance.finalized = true;
    }

    function onFrame(samples: Int16Array): void {
      const frameStartMs = audioMs;
      audioMs += FRAME_MS;
      const isSpeech = pcm16Dbfs(samples) >= speechThresholdDbfs;
      if (isSpeech) {
        if (speechRun === 0) speechRunStartMs = frameStartMs;
        speechRun++;
      } else {
        speechRun = 0;
      }

      if (!utterance) {
        if (speechRun >= onsetFrames) {
          const words = nextTranscript({ sessionId: session.id, utteranceIndex: utteranceIndex++ })
            .split(/\s+/)
            .filter((word) => word.length > 0);
          utterance = {
            startMs: speechRunStartMs,
            lastSpeechMs: audioMs,
            words,
            nextInterimAtMs: speechRunStartMs + interimIntervalMs,
            finalized: false,
          };
          pendingUtteranceEndAtMs = null;
          if (config.vadEvents)
            send({ type: 'SpeechStarted', channel: [0, 1], timestamp: speechRunStartMs / 1000 });
        } else if (pendingUtteranceEndAtMs !== null && config.utteranceEndMs !== null) {
          if (audioMs - pendingUtteranceEndAtMs >= config.utteranceEndMs) {
            send({ type: 'UtteranceEnd', channel: [0, 1], last_word_end: pendingUtteranceEndAtMs / 1000 });
            pendingUtteranceEndAtMs = null;
          }
        }
        return;
      }

      if (isSpeech) utterance.lastSpeechMs = audioMs;
      const silenceMs = audioMs - utterance.lastSpeechMs;
      if (config.endpointingMs !== null && silenceMs >= Math.max(config.endpointingMs, FRAME_MS)) {
        if (!utterance.finalized) {
          sendFinal({ speechFinal: true, fromFinalize: false }, sampleDelayMs(finalLatency));
        }
        pendingUtteranceEndAtMs = utterance.lastSpeechMs;
        utterance = null;
        return;
      }
      if (
        config.endpointingMs === null &&
        config.utteranceEndMs !== null &&
        silenceMs >= config.utteranceEndMs
      ) {
        // Without endpointing the word gap alone closes the segment.
        if (!utterance.finalized)
          sendFinal({ speechFinal: false, fromFinalize: false }, sampleDelayMs(finalLatency));
        send({ type: 'UtteranceEnd', channel: [0, 1], last_word_end: utterance.lastSpeechMs / 1000 });
        utterance = null;
        return;
      }
      if (config.interimResults && !utterance.finalized && audioMs >= utterance.nextInterimAtMs) {
        utterance.nextInterimAtMs += interimIntervalMs;
        const revealed = Math.min(
          utterance.words.length,
          Math.floor((audioMs - utterance.startMs) / msPerWord) + 1,
        );
        send(
          results(utterance.words.slice(0, revealed), utterance.startMs, audioMs, {
            isFinal: false,
            speechFinal: false,
            fromFinalize: false,
          }),
        );
      }
    }

    function onAudio(bytes: Buffer): void {
      const all = remainder.length > 0 ? Buffer.concat([remainder, bytes]) : bytes;
      let offset = 0;
      for (; offset + frameBytes <= all.length; offset += frameBytes) {
        const frame = all.subarray(offset, offset + frameBytes);
        const samples =
          config.encoding === 'mulaw'
            ? decodeMulaw(frame)
            : config.encoding === 'alaw'
              ? decodeAlaw(frame)
              : pcm16BytesToSamples(frame);
        onFrame(samples);
      }
      remainder = Buffer.from(all.subarray(offset));
    }

    async function closeStream(): Promise<void> {
      closing = true;
      if (utterance && !utterance.finalized) sendFinal({ speechFinal: false, fromFinalize: false }, 0);
      await whenDrained();
      if (!session.open) return;
      send({
        type: 'Metadata',
        transaction_key: 'deprecated',
        request_id: requestId,
        sha256: '0'.repeat(64),
        created: new Date().toISOString(),
        duration: audioMs / 1000,
        channels: 1,
      });
      await whenDrained();
      if (session.open) {
        session.closedBy = 'server';
        ws.close(1000);
      }
    }

    ws.on('message', (data: RawData, isBinary: boolean) => {
      const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
      const atMs = clock.now();
      if (closing) return;
      touch();
      if (isBinary) {
        session.bytesReceived += bytes.length;
        session.messagesReceived.push({ atMs, kind: 'audio', byteLength: bytes.length });
        onAudio(bytes);
      } else {
        let type: string | undefined;
        try {
          const parsed: unknown = JSON.parse(bytes.toString('utf8'));
          if (parsed && typeof parsed === 'object' && 'type' in parsed && typeof parsed.type === 'string') {
            type = parsed.type;
          }
        } catch {
          // Recorded with no type; Deepgram ignores text it cannot parse as a control message.
        }
        session.messagesReceived.push({
          atMs,
          kind: 'text',
          byteLength: bytes.length,
          ...(type ? { type } : {}),
        });
        // A real recogniser still needs its processing time to answer a Finalize.
        if (type === 'Finalize')
          sendFinal({ speechFinal: false, fromFinalize: true }, sampleDelayMs(finalLatency));
        else if (type === 'CloseStream') void closeStream();
      }
      changed();
    });
    ws.on('error', () => {
      // A reset socket also emits close, which is where the session is recorded as ended.
    });
    ws.on('close', (code: number, reason: Buffer) => {
      idleTimer.cancel();
      outboxTimer?.cancel();
      outboxTimer = null;
      outbox.length = 0;
      drained?.();
      sockets.delete(ws);
      session.open = false;
      session.closeCode ??= code;
      session.closeReason ??= reason.toString('utf8');
      session.closedBy ??= 'client';
      changed();
    });
  }

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = httpServer.address() as AddressInfo;

  return {
    url: `ws://127.0.0.1:${port}`,
    get apiKey() {
      return apiKey;
    },
    idleTimeoutMs,
    sessions,
    queueUtterance(text) {
      queue.push(text);
    },
    setTranscriptSource(source) {
      transcriptSource = source;
    },
    setApiKey(key) {
      apiKey = key;
    },
    waitFor(predicate, timeoutMs = 3000) {
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`stt simulator: condition not met within ${timeoutMs} ms`));
        }, timeoutMs);
        function check(): void {
          if (!predicate()) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        }
        waiters.add(check);
        check();
      });
    },
    dropConnections() {
      for (const [ws, session] of sockets) {
        session.closedBy ??= 'dropped';
        ws.terminate();
      }
    },
    async close() {
      for (const [ws, session] of sockets) {
        session.closedBy ??= 'server';
        ws.terminate();
      }
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
    },
  };
}
