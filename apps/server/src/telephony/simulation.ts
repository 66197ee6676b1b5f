// A simulated call (`parley call simulate`) runs the agent's published version — its prompt, first
// message and turn-taking — on provider simulators the operator's CLI started on this machine, never
// on the agent's providers or keys. The simulators' URLs come only from the operator edge (signed with
// the instance secret) and must be loopback URLs: nothing here lets anyone point a call at another host.
import { AgentConfig } from '@parley/contracts';
import { z } from 'zod';
import { SessionSetupError, type CredentialLookup } from './session-config.js';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);
const SCHEMES = new Set(['http:', 'https:', 'ws:', 'wss:']);

function isLoopbackUrl(value: string): boolean {
  if (!URL.canParse(value)) return false;
  const url = new URL(value);
  return SCHEMES.has(url.protocol) && LOOPBACK_HOSTS.has(url.hostname) && !url.username && !url.password;
}

const LoopbackUrl = z
  .string()
  .max(200)
  .refine(isLoopbackUrl, 'must be an http(s) or ws(s) URL on 127.0.0.1, [::1] or localhost');

/** The TTS providers the simulator can stand in for, by catalog id. */
export const SIMULATED_TTS_PROVIDERS = ['cartesia', 'elevenlabs', 'openai-tts'] as const;
/** The STT providers the simulator can stand in for. */
export const SIMULATED_STT_PROVIDERS = ['deepgram'] as const;

/** What a simulated call's record holds: where each simulator listens and the key it accepts. */
export const CallSimulation = z.strictObject({
  /** A throwaway key the CLI's simulators accept (they refuse anything else). */
  apiKey: z.string().min(16).max(200),
  stt: z.strictObject({ deepgram: LoopbackUrl }),
  /** One OpenAI-compatible server stands in for every LLM provider (they all speak that protocol). */
  llm: LoopbackUrl,
  tts: z.strictObject({
    cartesia: LoopbackUrl.optional(),
    elevenlabs: LoopbackUrl.optional(),
    'openai-tts': LoopbackUrl.optional(),
  }),
});
export type CallSimulation = z.infer<typeof CallSimulation>;

// Placeholder credential ids, one per kind, so the lookup knows which simulator a section asks for.
const CREDENTIAL = {
  stt: '00000000-0000-4000-8000-00000000057a',
  llm: '00000000-0000-4000-8000-0000000001a0',
  tts: '00000000-0000-4000-8000-0000000007e5',
} as const;

/**
 * Why the simulator cannot carry this agent (a provider it has no stand-in for), or null. Checked
 * before the call is created, so the operator hears it at once instead of from a failed call.
 */
export function simulationProblem(
  versionConfig: Record<string, unknown>,
  simulation: CallSimulation,
): string | null {
  const parsed = AgentConfig.safeParse(versionConfig);
  if (!parsed.success) return 'the agent version is not a valid configuration';
  const { stt, tts } = parsed.data;
  if (!(stt.provider in simulation.stt)) {
    return `the simulator has no stand-in for the STT provider \`${stt.provider}\` (it simulates: ${SIMULATED_STT_PROVIDERS.join(', ')})`;
  }
  if (!simulation.tts[tts.provider as keyof CallSimulation['tts']]) {
    return `the simulator has no stand-in for the TTS provider \`${tts.provider}\` (it simulates: ${SIMULATED_TTS_PROVIDERS.join(', ')})`;
  }
  return null;
}

/**
 * What `buildSessionSetup` needs to run the agent on the simulators: the version with each provider
 * section pointed at a placeholder credential (and any LLM baseUrl dropped), a lookup that answers
 * those with the simulator's URL and key, and no operator endpoint overrides.
 */
export function simulatedSessionInputs(
  versionConfig: Record<string, unknown>,
  stored: Record<string, unknown>,
): {
  versionConfig: Record<string, unknown>;
  credentials: CredentialLookup;
  providerUrls: Readonly<Record<string, string>>;
} {
  const simulation = CallSimulation.safeParse(stored);
  if (!simulation.success) throw new SessionSetupError('the call’s simulation settings are not valid');
  const problem = simulationProblem(versionConfig, simulation.data);
  if (problem) throw new SessionSetupError(problem);
  const config = AgentConfig.parse(versionConfig);
  const { apiKey, stt, llm, tts } = simulation.data;
  const llmTarget = <T extends { baseUrl?: string | undefined }>(target: T) => {
    const { baseUrl: _ignored, ...rest } = target;
    return { ...rest, credentialId: CREDENTIAL.llm };
  };
  const urls: Record<string, string> = {
    [CREDENTIAL.stt]: stt[config.stt.provider as keyof typeof stt],
    [CREDENTIAL.llm]: llm,
    [CREDENTIAL.tts]: tts[config.tts.provider as keyof typeof tts] ?? '',
  };
  return {
    versionConfig: {
      ...config,
      stt: { ...config.stt, credentialId: CREDENTIAL.stt },
      llm: { ...llmTarget(config.llm), fallbacks: config.llm.fallbacks.map(llmTarget) },
      tts: { ...config.tts, credentialId: CREDENTIAL.tts },
    },
    credentials: async (credentialId) => {
      const baseUrl = urls[credentialId];
      if (!baseUrl) throw new SessionSetupError('a simulated call has no other credentials');
      return { apiKey, baseUrl };
    },
    providerUrls: {},
  };
}
