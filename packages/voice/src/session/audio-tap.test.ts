// Supervisor listen's mixer: what a listener hears is both legs, side by side, in step with the call.
import { createTestCall } from '@parley/testkit';
import { describe, expect, it } from 'vitest';
import type { AudioFormat } from '../audio/format.js';
import { pcm16SamplesToBytes } from '../audio/pcm16.js';
import { CallAudioTap } from './audio-tap.js';

const PCM_8K: AudioFormat = { encoding: 'pcm16', sampleRateHz: 8000, channels: 1 };
const PCM_16K: AudioFormat = { encoding: 'pcm16', sampleRateHz: 16000, channels: 1 };

function tapOf(options: Partial<ConstructorParameters<typeof CallAudioTap>[0]> = {}) {
  const chunks: Int16Array[] = [];
  const tap = new CallAudioTap({
    sampleRateHz: 8000,
    callerFormat: PCM_8K,
    agentFormat: PCM_8K,
    startAtMs: 0,
    chunkMs: 10,
    onChunk: (chunk) => chunks.push(chunk),
    ...options,
  });
  return { tap, chunks };
}

const constant = (value: number, count: number) => new Int16Array(count).fill(value);
const bytes = (samples: Int16Array) => pcm16SamplesToBytes(samples);
const channel = (chunks: Int16Array[], which: 0 | 1) =>
  chunks.flatMap((chunk) => [...chunk].filter((_, i) => i % 2 === which));

/** Mean absolute amplitude of one channel of the chunks covering [fromMs, toMs) at 8 kHz. */
function energy(chunks: Int16Array[], which: 0 | 1, fromMs: number, toMs: number): number {
  const samples = channel(chunks, which).slice(fromMs * 8, toMs * 8);
  return samples.reduce((sum, s) => sum + Math.abs(s), 0) / Math.max(1, samples.length);
}

describe('CallAudioTap', () => {
  it('interleaves the caller (left) and the agent (right) in chunks of the asked length', () => {
    const { tap, chunks } = tapOf();
    tap.agent(bytes(constant(-7, 80)), 0);
    tap.caller(bytes(constant(5, 160)));
    expect(chunks.map((c) => c.length)).toEqual([160, 160]);
    expect([...chunks[0]!.slice(0, 4)]).toEqual([5, -7, 5, -7]);
    // The agent said 10 ms; the second chunk has the caller only.
    expect([...chunks[1]!.slice(0, 4)]).toEqual([5, 0, 5, 0]);
  });

  it('places agent audio at the call time it was sent, silence before it, so the legs stay aligned', () => {
    const { tap, chunks } = tapOf({ startAtMs: 1000 });
    // The tap started at call time 1 s; the agent starts speaking 20 ms later.
    tap.agent(bytes(constant(100, 80)), 1020);
    tap.caller(bytes(constant(3, 320)));
    const agent = channel(chunks, 1);
    expect(agent.slice(0, 160).every((s) => s === 0)).toBe(true);
    expect(agent.slice(160, 240).every((s) => s === 100)).toBe(true);
    expect(agent.slice(240).every((s) => s === 0)).toBe(true);
    expect(channel(chunks, 0).every((s) => s === 3)).toBe(true);
  });

  it('agent audio sent back to back plays back to back, even when sent ahead of time', () => {
    const { tap, chunks } = tapOf();
    tap.agent(bytes(constant(1, 80)), 0);
    tap.agent(bytes(constant(2, 80)), 0);
    tap.caller(bytes(constant(0, 240)));
    expect(channel(chunks, 1)).toEqual([...constant(1, 80), ...constant(2, 80), ...constant(0, 80)]);
  });

  it('drops the agent audio a barge-in cut off', () => {
    const { tap, chunks } = tapOf();
    tap.agent(bytes(constant(9, 400)), 0);
    tap.truncateAgent(20);
    tap.caller(bytes(constant(0, 400)));
    const agent = channel(chunks, 1);
    expect(agent.filter((s) => s === 9)).toHaveLength(160);
    expect(agent.slice(160).every((s) => s === 0)).toBe(true);
  });

  it('brings agent audio of another rate to the caller’s rate', () => {
    const { tap, chunks } = tapOf({ agentFormat: PCM_16K });
    tap.agent(bytes(constant(1000, 320)), 0);
    tap.caller(bytes(constant(0, 400)));
    expect(energy(chunks, 1, 5, 15)).toBeGreaterThan(500);
    expect(energy(chunks, 1, 30, 50)).toBe(0);
  });

  it('sends the partial chunk on close, and nothing afterwards', () => {
    const { tap, chunks } = tapOf();
    tap.caller(bytes(constant(4, 100)));
    expect(chunks).toHaveLength(1);
    tap.close();
    expect(chunks.map((c) => c.length)).toEqual([160, 40]);
    tap.caller(bytes(constant(4, 400)));
    tap.agent(bytes(constant(4, 400)), 0);
    expect(chunks).toHaveLength(2);
  });
});

describe('CallSession.tapAudio', () => {
  it('hears the agent’s greeting on the right and the caller on the left, then the call’s end', async () => {
    const call = createTestCall();
    call.session.start();
    const chunks: Int16Array[] = [];
    let ended: string | null = null;
    const { sampleRateHz } = call.session.tapAudio({
      onChunk: (chunk) => chunks.push(chunk),
      onEnd: (reason) => (ended = reason),
    });
    expect(sampleRateHz).toBe(8000);
    await call.until((event) => event.type === 'agent.speech.ended');
    const greetingMs = channel(chunks, 0).length / 8;
    expect(energy(chunks, 1, 0, 300)).toBeGreaterThan(500);
    expect(energy(chunks, 0, 0, greetingMs)).toBe(0);

    await call.speak(600, null);
    await call.run(200);
    const spokeFromMs = greetingMs;
    expect(energy(chunks, 0, spokeFromMs + 100, spokeFromMs + 500)).toBeGreaterThan(500);

    await call.session.hangUp('operator_hangup');
    expect(ended).toBe('operator_hangup');
    // 100 ms chunks (the last one may be short), stereo.
    expect(chunks.slice(0, -1).every((c) => c.length === 1600)).toBe(true);
  });

  it('costs a call nothing once stopped: no more chunks, and the call goes on', async () => {
    const call = createTestCall();
    call.session.start();
    const chunks: Int16Array[] = [];
    const tap = call.session.tapAudio({ onChunk: (chunk) => chunks.push(chunk), onEnd: () => {} });
    await call.run(300);
    expect(chunks.length).toBeGreaterThanOrEqual(2);
    tap.stop();
    const before = chunks.length;
    await call.until((event) => event.type === 'agent.speech.ended');
    await call.run(500);
    expect(chunks).toHaveLength(before);
  });

  it('a tap asked for after the call ended is told the end at once', async () => {
    const call = createTestCall();
    call.session.start();
    await call.session.hangUp('done');
    const reasons: string[] = [];
    call.session.tapAudio({ onChunk: () => {}, onEnd: (reason) => reasons.push(reason) });
    await Promise.resolve();
    await Promise.resolve();
    expect(reasons).toEqual(['done']);
  });
});
