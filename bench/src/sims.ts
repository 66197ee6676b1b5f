// The provider simulators with the bench's latency profile, answering per call: each call's runtime
// clients use the API key `call-<tag>`, so the recogniser and the model know which caller they serve
// and every record the bench reads can be matched to its call.
import {
  lognormalFromPercentiles,
  seededRandom,
  startCartesiaSimulator,
  startLlmSimulator,
  startSttSimulator,
  type CartesiaSimulator,
  type LlmSimulator,
  type SttSimulator,
} from '@parley/testkit';
import { LONG_ANSWER, PROVIDER_PROFILE, benchReply } from './profile.js';

export interface Simulators {
  stt: SttSimulator;
  llm: LlmSimulator;
  tts: CartesiaSimulator;
  /**
   * What each call's caller is saying right now: the STT simulator's side channel. Set for the length
   * of each played fixture; sounds without words (a cough, a tone) set nothing, so they get no words.
   */
  saying: Map<string, string>;
  close(): Promise<void>;
}

export function callTagOfKey(authorization: string | string[] | undefined): string | null {
  const value = Array.isArray(authorization) ? authorization[0] : authorization;
  const match = /call-([\w-]+)/.exec(value ?? '');
  return match ? match[1]! : null;
}

export async function startSimulators(seed = 7): Promise<Simulators> {
  const saying = new Map<string, string>();
  const profile = PROVIDER_PROFILE;
  const stt = await startSttSimulator({
    seed,
    finalLatencyMs: lognormalFromPercentiles(
      profile.sttFinalMs.p50,
      profile.sttFinalMs.p99,
      seededRandom(seed),
    ),
    // Partial words arrive quickly, as streaming recognisers' first interims do.
    interimIntervalMs: 100,
    idleTimeoutMs: 60_000,
  });
  stt.setTranscriptSource(({ sessionId }) => {
    const session = stt.sessions.find((candidate) => candidate.id === sessionId);
    const tag = callTagOfKey(session?.headers.authorization);
    return (tag && saying.get(tag)) || '';
  });
  const llm = await startLlmSimulator({
    seed,
    firstTokenLatency: lognormalFromPercentiles(
      profile.llmFirstTokenMs.p50,
      profile.llmFirstTokenMs.p99,
      seededRandom(seed + 1),
    ),
    tokensPerSecond: profile.llmTokensPerSecond,
  });
  const turnsByCall = new Map<string, number>();
  llm.setResponder((_body, request) => {
    const tag = callTagOfKey(request.headers.authorization) ?? 'unknown';
    const turn = (turnsByCall.get(tag) ?? 0) + 1;
    turnsByCall.set(tag, turn);
    // Barge-in calls get long answers, so there is something to interrupt.
    const text = tag.startsWith('bi') ? `${benchReply(tag, turn)} ${LONG_ANSWER}` : benchReply(tag, turn);
    return { text };
  });
  const tts = await startCartesiaSimulator({
    seed,
    firstByteLatencyMs: lognormalFromPercentiles(
      profile.ttsFirstByteMs.p50,
      profile.ttsFirstByteMs.p99,
      seededRandom(seed + 2),
    ),
  });
  return {
    stt,
    llm,
    tts,
    saying,
    async close() {
      await Promise.all([stt.close(), llm.close(), tts.close()]);
    },
  };
}
