// The measured scenarios of ../shared/reference/benchmarks.md. Every time is taken at a simulator
// (the caller, the recogniser, the model, the synthesiser) in this process; the runtime under test
// is another process and only reports what cannot be seen from outside.
import type { FixtureName } from '@parley/testkit';
import { onsetOffsetMs, placeCall, say, waitForAgentTurn, type BenchCall } from './calls.js';
import type { RuntimeProcess } from './runtime-process.js';
import type { Simulators } from './sims.js';

const UTTERANCES: FixtureName[] = ['opening-hours', 'greeting-request', 'thank-you'];

export interface TurnSample {
  /** (first agent frame − model request received) − LLM first token − TTS first byte. */
  orchestratorMs: number;
  /** The reference's literal formula: (first agent frame − final sent) − LLM first token − TTS first byte. */
  literalMs: number;
}

function ttsFirstByteFor(sims: Simulators, textIncludes: string, afterMs: number): number | null {
  const utterance = sims.tts.utterances
    .filter((u) => u.startedAtMs >= afterMs && u.text.includes(textIncludes))
    .sort((a, b) => a.startedAtMs - b.startedAtMs)[0];
  if (!utterance || utterance.firstAudioSentAtMs === undefined) return null;
  return utterance.firstAudioSentAtMs - utterance.startedAtMs;
}

function sttSessionOf(sims: Simulators, tag: string) {
  return sims.stt.sessions.find((session) =>
    String(session.headers.authorization ?? '').endsWith(`call-${tag}`),
  );
}

function llmRequestsOf(sims: Simulators, tag: string) {
  return sims.llm.requests.filter((request) =>
    String(request.headers.authorization ?? '').endsWith(`call-${tag}`),
  );
}

/** Row (a): callers take turns; each turn's orchestrator-added latency is measured at the simulators. */
export async function latencyScenario(
  runtime: RuntimeProcess,
  sims: Simulators,
  options: { calls: number; turnsPerCall: number },
): Promise<{ turns: TurnSample[]; failures: string[] }> {
  const turns: TurnSample[] = [];
  const failures: string[] = [];
  await Promise.all(
    Array.from({ length: options.calls }, async (_, index) => {
      const tag = `lat${index}`;
      const call = await placeCall(runtime.mediaUrl, sims, tag);
      try {
        await waitForAgentTurn(call, call.startedAtMs);
        for (let turn = 0; turn < options.turnsPerCall; turn++) {
          const fixture = UTTERANCES[turn % UTTERANCES.length]!;
          const sample = await measureTurn(sims, call, turn, await say(call, sims, fixture));
          if (typeof sample === 'string') failures.push(sample);
          else turns.push(sample);
        }
      } catch (error) {
        failures.push(`${tag}: ${String(error)}`);
      } finally {
        await call.caller.hangUp().catch(() => {});
      }
    }),
  );
  return { turns, failures };
}

/**
 * Measured on this process's clock only: from the model request reaching its simulator to the first
 * agent frame reaching the caller, minus the two providers' own times. What the runtime adds between
 * committing the turn and sending that request is in the session's own report (same row, `data`).
 */
async function measureTurn(
  sims: Simulators,
  call: BenchCall,
  turn: number,
  played: { startedAtMs: number; endedAtMs: number },
): Promise<TurnSample | string> {
  const firstFrame = await waitForAgentTurn(call, played.endedAtMs);
  const final = sttSessionOf(sims, call.tag)
    ?.finalsSent.filter((f) => f.atMs >= played.startedAtMs && f.text.trim())
    .at(-1);
  const request = llmRequestsOf(sims, call.tag)[turn];
  if (!final || !request || request.firstTokenSentAt === undefined)
    return `${call.tag} turn ${turn}: records missing`;
  const llmMs = request.firstTokenSentAt - request.receivedAt;
  // The reply's first clause ("Sure <tag>, ") is the first synthesis after the request.
  const ttsMs = ttsFirstByteFor(sims, `Sure ${call.tag},`, request.receivedAt);
  if (ttsMs === null) return `${call.tag} turn ${turn}: TTS record missing`;
  return {
    orchestratorMs: firstFrame - request.receivedAt - llmMs - ttsMs,
    literalMs: firstFrame - final.atMs - llmMs - ttsMs,
  };
}

export interface BargeInResult {
  /** Caller speech onset frame sent → `clear` received. */
  clearLatencyMs: number[];
  /** Agent frames with sound received after the clear, before the next reply could start. */
  framesAfterClear: number[];
  /** `clear` → model request cancelled at the model simulator (when it was still streaming). */
  llmCancelMs: number[];
  /** `clear` → synthesis cancelled at the TTS simulator (when it was still generating). */
  ttsCancelMs: number[];
  /** Clears caused by noise, clicks, a cough and backchannel words, per kind. */
  falseBargeIns: Record<string, number>;
  failures: string[];
}

/** Row (d): interrupt the agent mid-answer; and make non-speech sounds that must not interrupt. */
export async function bargeInScenario(
  runtime: RuntimeProcess,
  sims: Simulators,
  options: { calls: number; roundsPerCall: number },
): Promise<BargeInResult> {
  const result: BargeInResult = {
    clearLatencyMs: [],
    framesAfterClear: [],
    llmCancelMs: [],
    ttsCancelMs: [],
    falseBargeIns: {},
    failures: [],
  };
  const onset = onsetOffsetMs('interrupt-wait');
  const distractions: FixtureName[] = [
    'clicks',
    'cough',
    'tone-1khz',
    'backchannel-yeah',
    'backchannel-mm-hm',
    'backchannel-okay',
  ];
  await Promise.all(
    Array.from({ length: options.calls }, async (_, index) => {
      const tag = `bi${index}`;
      const call = await placeCall(runtime.mediaUrl, sims, tag);
      try {
        await waitForAgentTurn(call, call.startedAtMs);
        for (let round = 0; round < options.roundsPerCall; round++) {
          const { endedAtMs } = await say(call, sims, 'opening-hours');
          const answerStart = await call.caller.waitFor(
            () => call.caller.firstNonSilentOutboundAfter(endedAtMs),
            20_000,
          );
          // Non-speech and backchannels while the agent talks: none may clear the line.
          const distraction = distractions[(index + round) % distractions.length]!;
          const clearsBefore = call.caller.clears.length;
          await say(call, sims, distraction);
          result.falseBargeIns[distraction] =
            (result.falseBargeIns[distraction] ?? 0) + (call.caller.clears.length - clearsBefore);
          // Now a real interruption, 300 ms later.
          await new Promise((resolve) => setTimeout(resolve, 300));
          const { startedAtMs } = await say(call, sims, 'interrupt-wait');
          const onsetAt = startedAtMs + onset;
          const clearAt = call.caller.clearsAfter(answerStart).find((at) => at >= onsetAt - 20);
          if (clearAt === undefined) {
            result.failures.push(`${tag} round ${round}: no clear`);
            await waitForAgentTurn(call, performance.now());
            continue;
          }
          result.clearLatencyMs.push(clearAt - onsetAt);
          result.framesAfterClear.push(
            call.caller.nonSilentFrameTimes.filter((t) => t > clearAt && t < clearAt + 250).length,
          );
          const request = llmRequestsOf(sims, tag)
            .filter((r) => r.receivedAt < clearAt)
            .at(-1);
          if (request?.disconnectedAt !== undefined && request.disconnectedAt >= clearAt - 50) {
            result.llmCancelMs.push(request.disconnectedAt - clearAt);
          }
          for (const utterance of sims.tts.utterances) {
            if (
              utterance.cancelledAtMs !== undefined &&
              utterance.cancelledAtMs >= clearAt - 50 &&
              utterance.cancelledAtMs < clearAt + 1000 &&
              utterance.text.includes(tag)
            ) {
              result.ttsCancelMs.push(utterance.cancelledAtMs - clearAt);
            }
          }
          await waitForAgentTurn(call, clearAt);
        }
      } catch (error) {
        result.failures.push(`${tag}: ${String(error)}`);
      } finally {
        await call.caller.hangUp().catch(() => {});
      }
    }),
  );
  return result;
}

/** Row (f): `start` → first greeting frame, minus the TTS first byte; single calls and a burst. */
export async function acceptScenario(
  runtime: RuntimeProcess,
  sims: Simulators,
  options: { sequential: number; burst: number },
): Promise<{ acceptMs: number[]; burstAcceptMs: number[]; failures: string[] }> {
  const failures: string[] = [];
  const measure = async (tag: string): Promise<number | null> => {
    const call = await placeCall(runtime.mediaUrl, sims, tag);
    try {
      const first = await call.caller.waitFor(
        () => call.caller.firstNonSilentOutboundAfter(call.startedAtMs),
        10_000,
      );
      const tts = ttsFirstByteFor(sims, `Hello ${tag},`, call.startedAtMs);
      if (tts === null) {
        failures.push(`${tag}: TTS record missing`);
        return null;
      }
      return first - call.caller.startSentAtMs - tts;
    } catch (error) {
      failures.push(`${tag}: ${String(error)}`);
      return null;
    } finally {
      await call.caller.hangUp().catch(() => {});
    }
  };
  const acceptMs: number[] = [];
  for (let i = 0; i < options.sequential; i++) {
    const value = await measure(`acc${i}`);
    if (value !== null) acceptMs.push(value);
  }
  // A burst: `burst` new calls spread over one second.
  const burst = await Promise.all(
    Array.from({ length: options.burst }, async (_, i) => {
      await new Promise((resolve) => setTimeout(resolve, (1000 * i) / options.burst));
      return measure(`burst${i}`);
    }),
  );
  return { acceptMs, burstAcceptMs: burst.filter((v): v is number => v !== null), failures };
}
