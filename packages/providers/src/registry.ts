// Builds provider clients from an agent's choice (catalog id, model, options) and the credential's
// API key. The only place that maps catalog ids to classes; keys come from the caller (decrypted from
// the organization's credentials), never from the environment.
import type { LlmProvider, SttProvider, TtsProvider } from '@parley/voice';
import { catalogEntry, OPENAI_COMPATIBLE_BASE_URLS, type ProviderKind } from './catalog.js';
import { CartesiaTts } from './cartesia/tts.js';
import { DeepgramStt } from './deepgram/stt.js';
import { ElevenLabsTts } from './elevenlabs/tts.js';
import { OpenAiCompatibleChat } from './openai/chat.js';
import { OpenAiTts } from './openai/tts.js';

export interface ProviderChoice {
  provider: string;
  model?: string;
  /** Overrides the vendor's endpoint (OpenAI-compatible servers; simulators in tests and the bench). */
  baseUrl?: string;
  options?: Record<string, unknown>;
  /** From the organization's credential. */
  apiKey?: string;
}

export class UnknownProviderError extends Error {
  constructor(kind: ProviderKind, id: string) {
    super(`unknown ${kind} provider \`${id}\``);
    this.name = 'UnknownProviderError';
  }
}

function requireKey(kind: ProviderKind, choice: ProviderChoice): string {
  const entry = catalogEntry(kind, choice.provider);
  if (entry?.requiresApiKey && !choice.apiKey) {
    throw new Error(`${kind} provider \`${choice.provider}\` needs an API key: add a credential for it`);
  }
  return choice.apiKey ?? '';
}

export function createSttProvider(choice: ProviderChoice): SttProvider {
  const apiKey = requireKey('stt', choice);
  const options = choice.options ?? {};
  switch (choice.provider) {
    case 'deepgram':
      return new DeepgramStt({
        apiKey,
        ...(choice.model ? { model: choice.model } : {}),
        ...(choice.baseUrl ? { baseUrl: choice.baseUrl } : {}),
        ...(typeof options['smartFormat'] === 'boolean' ? { smartFormat: options['smartFormat'] } : {}),
        ...(typeof options['utteranceEndMs'] === 'number'
          ? { utteranceEndMs: options['utteranceEndMs'] }
          : {}),
      });
    default:
      throw new UnknownProviderError('stt', choice.provider);
  }
}

export function createLlmProvider(choice: ProviderChoice): LlmProvider {
  const entry = catalogEntry('llm', choice.provider);
  if (!entry) throw new UnknownProviderError('llm', choice.provider);
  const apiKey = requireKey('llm', choice);
  const baseUrl = choice.baseUrl ?? OPENAI_COMPATIBLE_BASE_URLS[choice.provider];
  if (!baseUrl) throw new Error(`llm provider \`${choice.provider}\` needs a baseUrl`);
  const headers = choice.options?.['headers'] as Record<string, string> | undefined;
  return new OpenAiCompatibleChat({
    id: choice.provider,
    baseUrl,
    model: choice.model ?? entry.defaultModel,
    ...(apiKey ? { apiKey } : {}),
    ...(headers ? { headers } : {}),
  });
}

export function createTtsProvider(choice: ProviderChoice): TtsProvider {
  const apiKey = requireKey('tts', choice);
  const options = choice.options ?? {};
  const common = {
    apiKey,
    ...(choice.model ? { model: choice.model } : {}),
    ...(choice.baseUrl ? { baseUrl: choice.baseUrl } : {}),
  };
  switch (choice.provider) {
    case 'cartesia':
      return new CartesiaTts(common);
    case 'elevenlabs':
      return new ElevenLabsTts({
        ...common,
        voiceSettings: {
          stability: typeof options['stability'] === 'number' ? options['stability'] : 0.5,
          similarity_boost: typeof options['similarityBoost'] === 'number' ? options['similarityBoost'] : 0.8,
        },
      });
    case 'openai-tts':
      return new OpenAiTts({
        ...common,
        ...(typeof options['instructions'] === 'string' ? { instructions: options['instructions'] } : {}),
      });
    default:
      throw new UnknownProviderError('tts', choice.provider);
  }
}
