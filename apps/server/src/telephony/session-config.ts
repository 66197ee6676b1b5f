// Turns a published agent version into what a call session runs: the agent's words with the call's
// variables filled in, its turn-taking settings, and provider clients holding the organization's
// decrypted keys. Everything here happens before the first audio, so a misconfigured agent fails the
// call's start with a reason instead of failing mid-conversation.
import { AgentConfig, BUILT_IN_VARIABLES, renderTemplate, type AgentToolRef } from '@parley/contracts';
import {
  createLlmProvider,
  createSttProvider,
  createTtsProvider,
  type ProviderChoice,
} from '@parley/providers';
import {
  CALL_VARIABLE_PREFIX,
  type AssistantOverrides,
  type CallToolFunction,
  type CallVariables,
  type ResolvedCallTools,
} from '@parley/services';
import type { LlmProvider, SessionAgentConfig, SttProvider, TtsProvider } from '@parley/voice';
import type { CallActionsSetup } from './call-actions.js';

/** Decrypted values of a credential (apiKey, baseUrl, ...), looked up by id in the call's organization. */
export type CredentialLookup = (credentialId: string) => Promise<Record<string, string>>;

/** The agent's tools loaded for a call (see resolveCallTools); never throws for a tool's sake. */
export type CallToolsResolver = (refs: readonly AgentToolRef[]) => Promise<ResolvedCallTools>;

export interface CallFacts {
  callId: string;
  /** The call's agent, for tools' `{{agent.id}}`. */
  agentId?: string | null;
  direction: 'inbound' | 'outbound' | 'web';
  /** The other party's number (the caller inbound, the callee outbound); personal data. */
  customerNumber: string | null;
  variables: Record<string, string>;
  now: Date;
  /**
   * This call's own first message and system prompt, from the number's assistant request hook (kept
   * in the call's metadata, see assistantOverridesOf); rendered with the call's variables like the
   * agent's own.
   */
  overrides?: AssistantOverrides;
}

export interface SessionSetup {
  agent: SessionAgentConfig;
  /** What the agent may do to the call (end it, transfer it, press keys), texts rendered. */
  callActions: CallActionsSetup;
  stt: SttProvider;
  llm: LlmProvider[];
  tts: TtsProvider[];
  recordingEnabled: boolean;
  /** What to do when the carrier says a machine answered (outbound calls), its message rendered. */
  voicemail: VoicemailPlan;
  /** The agent's own tools, ready to run. */
  tools: CallToolsSetup;
}

export interface CallToolsSetup {
  functions: readonly CallToolFunction[];
  /** For webhook placeholders: the built-ins, `agent.id`, and the call's variables as `var.<name>`. */
  variables: CallVariables;
  /** Tools left out, and why (safe to log). */
  warnings: readonly string[];
}

export interface VoicemailPlan {
  action: 'hang_up' | 'leave_message';
  /** Said after the machine's beep when the action is `leave_message`. */
  message: string;
}

/** Why a call could not be set up; the reason is safe to store on the call and to log. */
export class SessionSetupError extends Error {
  override readonly name = 'SessionSetupError';
}

export async function buildSessionSetup(
  versionConfig: Record<string, unknown>,
  call: CallFacts,
  credentials: CredentialLookup,
  /** Operator overrides of vendor endpoints (PARLEY_PROVIDER_URLS): regional endpoints, proxies, simulators. */
  providerUrls: Readonly<Record<string, string>>,
  /** Loads the agent's tools; without one the agent is offered none. */
  resolveTools?: CallToolsResolver,
): Promise<SessionSetup> {
  const parsed = AgentConfig.safeParse(versionConfig);
  if (!parsed.success) throw new SessionSetupError('the agent version is not a valid configuration');
  const config = parsed.data;
  const values = templateValues(config, call);
  const render = (text: string) => renderTemplate(text, values);

  const choice = async (section: {
    provider: string;
    model?: string | undefined;
    baseUrl?: string | undefined;
    options: Record<string, unknown>;
    credentialId?: string | undefined;
  }): Promise<ProviderChoice> => {
    const secret = section.credentialId ? await credentials(section.credentialId) : {};
    const baseUrl = section.baseUrl ?? secret['baseUrl'] ?? providerUrls[section.provider];
    return {
      provider: section.provider,
      options: section.options,
      ...(section.model ? { model: section.model } : {}),
      ...(baseUrl ? { baseUrl } : {}),
      ...(secret['apiKey'] ? { apiKey: secret['apiKey'] } : {}),
    };
  };

  let stt: SttProvider;
  let llm: LlmProvider[];
  let tts: TtsProvider;
  try {
    stt = createSttProvider(await choice(config.stt));
    llm = await Promise.all(
      [config.llm, ...config.llm.fallbacks].map(async (target) => createLlmProvider(await choice(target))),
    );
    tts = createTtsProvider(await choice(config.tts));
  } catch (error) {
    // The registry's messages name the provider and what is missing, never a key.
    throw new SessionSetupError(error instanceof Error ? error.message : String(error));
  }

  const agent: SessionAgentConfig = {
    systemPrompt: render(call.overrides?.systemPrompt ?? config.systemPrompt),
    firstMessage: render(call.overrides?.firstMessage ?? config.firstMessage),
    firstMessageMode: config.firstMessageMode,
    language: config.stt.language ?? config.language,
    voice: config.tts.voice,
    ...(config.tts.model ? { ttsModel: config.tts.model } : {}),
    ...(config.tts.speed !== undefined ? { speed: config.tts.speed } : {}),
    ...(config.llm.temperature !== undefined ? { temperature: config.llm.temperature } : {}),
    ...(config.llm.maxTokens !== undefined ? { maxTokens: config.llm.maxTokens } : {}),
    ...(config.stt.keywords.length > 0 ? { sttKeywords: config.stt.keywords } : {}),
    turnTaking: config.turnTaking,
    idle: { ...config.idle, reminderMessages: config.idle.reminderMessages.map(render) },
    maxDurationSeconds: config.maxDurationSeconds,
    closingMessage: render(config.closingMessage),
  };
  const callActions: CallActionsSetup = {
    endCall: config.callActions.endCall,
    sendDtmf: config.callActions.sendDtmf,
    transferDestinations: config.callActions.transferDestinations.map((d) => ({
      ...d,
      message: render(d.message),
    })),
  };
  return {
    agent,
    callActions,
    stt,
    llm,
    tts: [tts],
    recordingEnabled: config.recording.enabled,
    voicemail: { action: config.voicemail.action, message: render(config.voicemail.message) },
    tools: await callTools(config.tools, resolveTools, toolVariables(values, call)),
  };
}

async function callTools(
  refs: readonly AgentToolRef[],
  resolve: CallToolsResolver | undefined,
  variables: CallVariables,
): Promise<CallToolsSetup> {
  if (refs.length === 0 || !resolve) return { functions: [], variables, warnings: [] };
  try {
    return { ...(await resolve(refs)), variables };
  } catch (error) {
    // The conversation is worth more than the tools: the call starts without them.
    const code = error instanceof Error && 'code' in error ? String(error.code) : 'internal';
    return { functions: [], variables, warnings: [`the agent's tools could not be loaded (${code})`] };
  }
}

/**
 * What a webhook's placeholders may name (the tools' save-time check allows exactly these): the
 * built-ins, `agent.id`, and each of the call's variables as `var.<name>`.
 */
function toolVariables(
  values: Record<string, string | number | boolean>,
  call: CallFacts,
): Record<string, string | number | boolean> {
  const variables: Record<string, string | number | boolean> = {};
  for (const [name, value] of Object.entries(values)) {
    variables[BUILT_IN_VARIABLES.includes(name) ? name : `${CALL_VARIABLE_PREFIX}${name}`] = value;
  }
  if (call.agentId) variables['agent.id'] = call.agentId;
  return variables;
}

/** Declared variables (the call's values over their defaults) and the built-ins every call has. */
function templateValues(config: AgentConfig, call: CallFacts): Record<string, string | number | boolean> {
  const values: Record<string, string | number | boolean> = {};
  for (const variable of config.variables) {
    if (variable.default !== undefined) values[variable.name] = variable.default;
  }
  Object.assign(values, call.variables);
  const iso = call.now.toISOString();
  Object.assign(values, {
    now: iso,
    date: iso.slice(0, 10),
    time: iso.slice(11, 16),
    'call.id': call.callId,
    'call.direction': call.direction,
    'customer.number': call.customerNumber ?? '',
    'agent.name': config.name,
  });
  return values;
}
