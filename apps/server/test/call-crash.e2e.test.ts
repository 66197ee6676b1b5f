// The promise that a call's data survives a crash: a real `parley serve` process on PostgreSQL carries a
// Twilio call, is killed with SIGKILL mid-call, and the call's events, transcript and recording up to
// about a second before the kill are in the database and on disk. A new process then closes the call as
// runtime_lost once the dead one has been silent for the configured time.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { calls, eq } from '@parley/db';
import { loadFixture, type TwilioCaller } from '@parley/testkit';
import { parseWav } from '@parley/voice';
import { agentDone, GREETING, useProcessWorld } from './process-world.js';

const LONG_REPLY =
  'We open at nine on weekdays and at ten on Saturdays, we close at six every day except Sunday, ' +
  'and you can always book online, where every appointment is confirmed by text within the hour.';

// One process of the default role on PostgreSQL alone; a runtime silent for 1.5 s is lost. The LLM is
// slow enough for the agent to be mid-answer when the process dies.
const world = useProcessWorld({
  processes: [{}],
  redis: false,
  llmTokensPerSecond: 40,
  env: { PARLEY_RUNTIME_HEARTBEAT_MS: '300', PARLEY_RUNTIME_STALE_AFTER_MS: '1500' },
});

async function agentStarts(caller: TwilioCaller, afterMs: number): Promise<number> {
  return caller.waitFor(() => caller.firstNonSilentOutboundAfter(afterMs), 15_000);
}

describe('a runtime killed mid-call', () => {
  it('keeps the call’s events, transcript and recording up to the last second, and a new runtime closes it', async () => {
    const server = world.processes[0]!;
    const { caller, callId } = await world.answeredCall(server, '+15557650000');
    await agentDone(caller, 0);
    const { sims, database } = world;
    sims.stt.queueUtterance(loadFixture('opening-hours').transcript!);
    sims.llm.script({ text: LONG_REPLY });
    const { endedAtMs } = await caller.play('opening-hours');
    // The agent is two seconds into its long answer when the process dies.
    const replyStartedAt = await agentStarts(caller, endedAtMs);
    await caller.waitFor(() => (performance.now() - replyStartedAt >= 2000 ? true : null), 10_000);
    server.child.kill('SIGKILL');
    await server.exited;
    const [killed] = await database.db.select().from(calls).where(eq(calls.id, callId));
    expect(killed).toMatchObject({ status: 'in_progress' });

    // Everything that happened a second or more before the kill is there.
    const types = await world.eventTypes(callId);
    expect(types[0]).toBe('call.started');
    for (const type of ['agent.speech.started', 'agent.speech.ended', 'user.speech.started', 'user.turn']) {
      expect(types).toContain(type);
    }
    expect(types).not.toContain('call.ended');
    expect(await world.transcript(callId)).toEqual([
      ['agent', GREETING],
      ['user', loadFixture('opening-hours').transcript],
    ]);
    // The recording is named on the call and playable up to its last sync, about a second before the kill.
    const recordingPath = killed!.recordingPath!;
    expect(path.isAbsolute(recordingPath) && existsSync(recordingPath)).toBe(true);
    const wav = parseWav(new Uint8Array(await readFile(recordingPath)));
    const recordedMs = (wav.samples.length / wav.channels / wav.sampleRateHz) * 1000;
    const callMs = performance.now() - caller.startSentAtMs;
    expect(recordedMs).toBeGreaterThan(callMs - 2000);

    // A new process finds the call of the silent runtime and closes it.
    await world.startProcess({ cwd: server.cwd });
    await vi.waitFor(
      async () => {
        const [row] = await database.db.select().from(calls).where(eq(calls.id, callId));
        expect(row).toMatchObject({ status: 'failed', endReason: 'runtime_lost' });
      },
      { timeout: 15_000, interval: 100 },
    );
  });
});
