// Test-only: what every e2e world is made of — the provider simulators (STT, LLM, TTS), an
// organization whose credentials point at them, and following the agent's turns as a caller hears them.
import type { AgentConfigInput } from '@parley/contracts';
import {
  createCredential,
  createUserAsOperator,
  operatorOrgContext,
  type OrgContext,
  type ServiceContext,
  type ServiceDeps,
} from '@parley/services';
import { constant, startCartesiaSimulator, startLlmSimulator, startSttSimulator } from '@parley/testkit';

export interface ProviderSimulators {
  stt: Awaited<ReturnType<typeof startSttSimulator>>;
  llm: Awaited<ReturnType<typeof startLlmSimulator>>;
  tts: Awaited<ReturnType<typeof startCartesiaSimulator>>;
  close(): Promise<void>;
}

/** Starts the three simulators; the LLM writes 200 tokens a second unless told otherwise. */
export async function startProviderSimulators(options: { llmTokensPerSecond?: number } = {}) {
  const [stt, llm, tts] = await Promise.all([
    startSttSimulator({ apiKey: 'dg-key', finalLatencyMs: 20 }),
    startLlmSimulator({
      apiKey: 'llm-key',
      firstTokenLatency: constant(30),
      tokensPerSecond: options.llmTokensPerSecond ?? 200,
    }),
    startCartesiaSimulator({ apiKey: 'tts-key', firstByteLatencyMs: 20 }),
  ]);
  const simulators: ProviderSimulators = {
    stt,
    llm,
    tts,
    close: async () => {
      await Promise.all([stt.close(), llm.close(), tts.close()]);
    },
  };
  return simulators;
}

/** The simulators' addresses by provider, in place of the providers' own. */
export const providerUrlsOf = (sims: ProviderSimulators): Record<string, string> => ({
  deepgram: sims.stt.url,
  openai: sims.llm.url,
  cartesia: sims.tts.baseUrl,
});

/** The same as a process's PARLEY_PROVIDER_URLS setting says them. */
export const providerUrlsSetting = (sims: ProviderSimulators) =>
  Object.entries(providerUrlsOf(sims))
    .map(([provider, url]) => `${provider}=${url}`)
    .join(',');

export interface SimulatedOrganization {
  org: OrgContext;
  /** Creates a credential in the organization; returns its id. */
  credential(provider: string, values: Record<string, string>): Promise<string>;
  /** An agent's STT, LLM and TTS settings, with credentials the simulators accept. */
  providers: Pick<AgentConfigInput, 'stt' | 'llm' | 'tts'>;
}

/** A user (the owner) and their organization, made by the system, with credentials for the simulators. */
export async function createSimulatedOrganization(
  deps: ServiceDeps,
  owner: { email: string; password: string; organizationName: string; isInstanceAdmin: boolean },
): Promise<SimulatedOrganization> {
  const system: ServiceContext = { ...deps, actor: { type: 'system', label: 'test' }, clientIp: null };
  const { organizationId } = await createUserAsOperator(system, { ...owner, name: 'Owner' });
  const org = await operatorOrgContext(system, organizationId);
  const credential = async (provider: string, values: Record<string, string>) =>
    (await createCredential(org, { name: provider, provider: provider as 'openai', values })).id;
  const providers = {
    stt: { provider: 'deepgram', credentialId: await credential('deepgram', { apiKey: 'dg-key' }) },
    llm: {
      provider: 'openai',
      model: 'gpt-4o-mini',
      credentialId: await credential('openai', { apiKey: 'llm-key' }),
    },
    tts: {
      provider: 'cartesia',
      voice: 'voice-1',
      credentialId: await credential('cartesia', { apiKey: 'tts-key' }),
    },
  } as const;
  return { org, credential, providers };
}

/** What a caller simulator offers for following the agent's turns. */
export interface ListeningCaller {
  readonly nonSilent: readonly number[];
  waitFor<T>(probe: () => T | null | undefined | false, timeoutMs?: number): Promise<T>;
}

/** Resolves once the agent has spoken after `afterMs` and then been quiet for `quietMs`. */
export async function agentTurn(caller: ListeningCaller, afterMs: number, quietMs = 500): Promise<number> {
  const started = await caller.waitFor(() => caller.nonSilent.find((atMs) => atMs > afterMs) ?? null, 15_000);
  await caller.waitFor(() => {
    const last = caller.nonSilent.at(-1);
    return last !== undefined && performance.now() - last >= quietMs ? last : null;
  }, 15_000);
  return started;
}
