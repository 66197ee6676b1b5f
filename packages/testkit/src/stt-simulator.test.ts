import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ManualClock, MULAW_SILENCE, encodeAlaw, encodeMulaw, pcm16SamplesToBytes } from '@parley/voice';
import { constant } from './distributions.js';
import { loadFixture } from './fixtures.js';
import { startSttSimulator } from './stt-simulator.js';
import type { SttSimulator, SttSimulatorOptions } from './stt-simulator.js';

const TELEPHONY_QUERY =
  'model=nova-3&encoding=mulaw&sample_rate=8000&channels=1&interim_results=true&utterance_end_ms=1000&vad_events=true&endpointing=300';

const sims: SttSimulator[] = [];
afterEach(async () => {
  await Promise.all(sims.splice(0).map((sim) => sim.close()));
});

async function start(options: SttSimulatorOptions = {}): Promise<SttSimulator> {
  const sim = await startSttSimulator({ finalLatencyMs: 0, ...options });
  sims.push(sim);
  return sim;
}

interface Client {
  ws: WebSocket;
  messages: any[];
  /** Resolves with the first message (already received or future) matching `predicate`. */
  next(predicate: (message: any) => boolean): Promise<any>;
  closed: Promise<{ code: number; reason: string }>;
}

/** Opens a client; rejects with the HTTP status when the upgrade is refused. */
function connect(
  sim: SttSimulator,
  query = TELEPHONY_QUERY,
  headers: Record<string, string> = {},
): Promise<Client> {
  const ws = new WebSocket(`${sim.url}/v1/listen?${query}`, { headers });
  const messages: any[] = [];
  const waiters: { predicate: (message: any) => boolean; resolve: (message: any) => void }[] = [];
  ws.on('message', (data) => {
    const message = JSON.parse(String(data));
    messages.push(message);
    for (const waiter of [...waiters]) {
      if (waiter.predicate(message)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(message);
      }
    }
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once('close', (code, reason) => resolve({ code, reason: String(reason) })),
  );
  return new Promise((resolve, reject) => {
    ws.once('unexpected-response', (_request, response) => {
      reject(new Error(`HTTP ${response.statusCode}`));
      ws.terminate();
    });
    ws.on('error', () => {});
    ws.once('open', () =>
      resolve({
        ws,
        messages,
        closed,
        next: (predicate) => {
          const seen = messages.find(predicate);
          if (seen) return Promise.resolve(seen);
          return new Promise((done) => waiters.push({ predicate, resolve: done }));
        },
      }),
    );
  });
}

function speechMulaw(trailingSilenceMs = 1300): Uint8Array {
  const speech = encodeMulaw(loadFixture('opening-hours').samples);
  const audio = new Uint8Array(speech.length + trailingSilenceMs * 8).fill(MULAW_SILENCE);
  audio.set(speech);
  return audio;
}

function sendChunks(ws: WebSocket, audio: Uint8Array, chunkBytes = 160): void {
  for (let offset = 0; offset < audio.length; offset += chunkBytes)
    ws.send(audio.subarray(offset, offset + chunkBytes));
}

const isType = (type: string) => (message: any) => message.type === type;
const isFinal = (message: any) => message.type === 'Results' && message.is_final;

describe('startSttSimulator', () => {
  it('hears real speech: SpeechStarted, growing interims, a speech-final final, then UtteranceEnd', async () => {
    const sim = await start();
    sim.queueUtterance('What time do you open on Saturday?');
    const client = await connect(sim);
    sendChunks(client.ws, speechMulaw());
    await client.next(isType('UtteranceEnd'));

    const types = client.messages.map((message) => (message.is_final ? 'Final' : message.type));
    expect(types[0]).toBe('SpeechStarted');
    expect(types.slice(-2)).toEqual(['Final', 'UtteranceEnd']);
    const interims = client.messages.filter((m) => m.type === 'Results' && !m.is_final);
    expect(interims.length).toBeGreaterThan(2);
    const lengths = interims.map((m) => m.channel.alternatives[0].transcript.length);
    expect(lengths).toEqual([...lengths].sort((a, b) => a - b)); // words are revealed, never taken back
    expect(lengths[0]).toBeLessThan('What time do you open on Saturday?'.length);

    const final = client.messages.find(isFinal);
    expect(final).toMatchObject({ speech_final: true, from_finalize: false, channel_index: [0, 1] });
    const alternative = final.channel.alternatives[0];
    expect(alternative.transcript).toBe('What time do you open on Saturday?');
    expect(alternative.words.map((w: any) => w.word)).toEqual([
      'what',
      'time',
      'do',
      'you',
      'open',
      'on',
      'saturday',
    ]);
    expect(final.metadata.model_info.arch).toBe('nova-3');
    // The recording has ~0.2 s of lead-in and ends its speech around 2.4 s.
    const started = client.messages[0].timestamp;
    expect(started).toBeGreaterThan(0.05);
    expect(started).toBeLessThan(0.4);
    const end = client.messages.at(-1);
    expect(end.last_word_end).toBeGreaterThan(2);
    expect(end.last_word_end).toBeLessThan(2.6);

    const session = sim.sessions[0]!;
    expect(session.bytesReceived).toBe(speechMulaw().length);
    expect(session.finalsSent).toEqual([
      expect.objectContaining({
        text: 'What time do you open on Saturday?',
        speechFinal: true,
        fromFinalize: false,
      }),
    ]);
  });

  it('decodes A-law and linear16 too', async () => {
    const sim = await start();
    const samples = loadFixture('opening-hours').samples;
    for (const [encoding, audio] of [
      ['alaw', encodeAlaw(samples)],
      ['linear16', pcm16SamplesToBytes(samples)],
    ] as const) {
      sim.queueUtterance(`heard as ${encoding}`);
      const client = await connect(sim, `model=nova-3&encoding=${encoding}&sample_rate=8000&endpointing=300`);
      // Odd chunk sizes: frames must be reassembled across messages.
      sendChunks(client.ws, audio, 333);
      client.ws.send(new Uint8Array(encoding === 'alaw' ? 4000 : 8000).fill(encoding === 'alaw' ? 0xd5 : 0));
      const final = await client.next(isFinal);
      expect(final.channel.alternatives[0].transcript).toBe(`heard as ${encoding}`);
      client.ws.close();
    }
  });

  it('stays quiet on silence and line noise', async () => {
    const sim = await start();
    sim.queueUtterance('should never be used');
    const client = await connect(sim);
    sendChunks(client.ws, encodeMulaw(loadFixture('silence-2s').samples));
    sendChunks(client.ws, encodeMulaw(loadFixture('line-noise-3s').samples));
    client.ws.send(JSON.stringify({ type: 'Finalize' }));
    const final = await client.next(isFinal); // Finalize answers even when nothing was heard
    expect(final).toMatchObject({ from_finalize: true, is_final: true });
    expect(final.channel.alternatives[0].transcript).toBe('');
    expect(client.messages).toEqual([final]);
  });

  it('Finalize flushes speech in progress as a from_finalize final', async () => {
    const sim = await start();
    sim.setTranscriptSource(({ utteranceIndex }) => `utterance ${utteranceIndex}`);
    const client = await connect(sim);
    const audio = speechMulaw(0);
    sendChunks(client.ws, audio.subarray(0, 8000)); // one second: mid-sentence
    client.ws.send(JSON.stringify({ type: 'Finalize' }));
    const final = await client.next(isFinal);
    expect(final).toMatchObject({ from_finalize: true, speech_final: false });
    expect(final.channel.alternatives[0].transcript).toBe('utterance 0');
    expect(sim.sessions[0]!.messagesReceived.at(-1)).toMatchObject({ kind: 'text', type: 'Finalize' });
  });

  it('CloseStream sends what is pending, then Metadata, then closes normally', async () => {
    const sim = await start();
    sim.queueUtterance('cut short');
    const client = await connect(sim);
    sendChunks(client.ws, speechMulaw(0).subarray(0, 8000));
    client.ws.send(JSON.stringify({ type: 'CloseStream' }));
    const { code } = await client.closed;
    expect(code).toBe(1000);
    const tail = client.messages.slice(-2);
    expect(tail[0]).toMatchObject({ type: 'Results', is_final: true });
    expect(tail[0].channel.alternatives[0].transcript).toBe('cut short');
    expect(tail[1]).toMatchObject({ type: 'Metadata', channels: 1, duration: 1 });
  });

  it('holds the final back by the configured latency', async () => {
    const clock = new ManualClock();
    const sim = await start({ clock, finalLatencyMs: constant(200) });
    sim.queueUtterance('later');
    const client = await connect(sim);
    const audio = speechMulaw();
    sendChunks(client.ws, audio);
    await sim.waitFor(() => sim.sessions[0]!.bytesReceived === audio.length);
    await clock.advance(199);
    expect(sim.sessions[0]!.finalsSent).toEqual([]);
    expect(sim.sessions[0]!.sent.some((s) => s.message.type === 'SpeechStarted')).toBe(true);
    await clock.advance(1);
    expect(sim.sessions[0]!.finalsSent).toEqual([expect.objectContaining({ text: 'later', atMs: 200 })]);
    // UtteranceEnd was due earlier in audio time but never overtakes the final.
    const order = sim.sessions[0]!.sent.map((s) => s.message.type).slice(-2);
    expect(order).toEqual(['Results', 'UtteranceEnd']);
  });

  it('closes an idle connection with 1011 / NET-0001, unless kept alive', async () => {
    const clock = new ManualClock();
    const sim = await start({ clock, idleTimeoutMs: 10_000 });
    const idle = await connect(sim);
    const alive = await connect(sim);
    await clock.advance(6000);
    alive.ws.send(JSON.stringify({ type: 'KeepAlive' }));
    await sim.waitFor(() => sim.sessions[1]!.messagesReceived.length === 1);
    await clock.advance(4000);
    const { code, reason } = await idle.closed;
    expect(code).toBe(1011);
    expect(reason).toContain('NET-0001');
    await sim.waitFor(() => !sim.sessions[0]!.open);
    expect(sim.sessions[0]).toMatchObject({ open: false, closedBy: 'server' });
    expect(sim.sessions[1]!.open).toBe(true);
  });

  it('checks the Token, the path and the query on upgrade', async () => {
    const sim = await start({ apiKey: 'right' });
    await expect(connect(sim)).rejects.toThrow('HTTP 401');
    await expect(connect(sim, TELEPHONY_QUERY, { Authorization: 'Token wrong' })).rejects.toThrow('HTTP 401');
    await expect(
      connect(sim, TELEPHONY_QUERY.replace('mulaw', 'mp3'), { Authorization: 'Token right' }),
    ).rejects.toThrow('HTTP 400');
    await expect(
      connect(sim, 'model=nova-3&encoding=mulaw', { Authorization: 'Token right' }),
    ).rejects.toThrow('HTTP 400');
    const ok = await connect(sim, TELEPHONY_QUERY, { Authorization: 'Token right' });
    expect(sim.sessions).toHaveLength(1);
    expect(sim.sessions[0]!.query.get('endpointing')).toBe('300');
    ok.ws.close();
  });

  it('dropConnections cuts sockets without a close frame', async () => {
    const sim = await start();
    const client = await connect(sim);
    sim.dropConnections();
    const { code } = await client.closed;
    expect(code).toBe(1006);
    await sim.waitFor(() => !sim.sessions[0]!.open);
    expect(sim.sessions[0]!.closedBy).toBe('dropped');
  });
});
