// The bench's call model and provider profile (../shared/reference/benchmarks.md): what the simulated
// providers take, what the agent says, and the turn-taking settings the figures are quoted for.
import type { SessionAgentConfig } from '@parley/voice';

export const PROVIDER_PROFILE = {
  sttFinalMs: { p50: 150, p99: 350 },
  llmFirstTokenMs: { p50: 250, p99: 600 },
  llmTokensPerSecond: 60,
  ttsFirstByteMs: { p50: 100, p99: 250 },
};

/** Turn-taking settings of the runs; barge-in confirms on 96 ms of speech (row d). */
export const BENCH_TURN_TAKING: SessionAgentConfig['turnTaking'] = {
  endpointingSilenceMs: 500,
  minInterruptionSpeechMs: 96,
  minInterruptionWords: 0,
  backchannelWords: ['yeah', 'mm-hm', 'uh-huh', 'okay', 'right'],
  interruptPhrases: ['stop', 'wait'],
  falseInterruptionResumeMs: 1500,
  speculativeReplies: false,
  deadAirMs: 5000,
};

export function benchAgent(callTag: string, overrides: Partial<SessionAgentConfig> = {}): SessionAgentConfig {
  return {
    systemPrompt: 'You are the bench agent.',
    // Tagged so the TTS simulator's records can be matched to the call.
    firstMessage: `Hello ${callTag}, how can I help you today?`,
    firstMessageMode: 'agent-speaks',
    language: 'en-US',
    voice: 'bench-voice',
    turnTaking: BENCH_TURN_TAKING,
    idle: { reminderAfterMs: 60_000, maxReminders: 0, reminderMessages: [], hangupMessage: 'Goodbye.' },
    maxDurationSeconds: 3600,
    closingMessage: 'Goodbye.',
    toolTimeoutMs: 5000,
    slowToolAfterMs: null,
    ...overrides,
  };
}

/** The agent's reply to each caller turn, tagged with the call. */
export function benchReply(callTag: string, turn: number): string {
  return `Sure ${callTag}, turn ${turn}. We open at nine in the morning and close at five in the afternoon.`;
}

export const LONG_ANSWER =
  'On weekdays we are open from eight until six, on Saturdays from nine until five, and on Sundays we are closed. ' +
  'You can also book online at any time, and we will confirm your appointment by text message within the hour.';
