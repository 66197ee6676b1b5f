// What providers Parley speaks to, with their models, voices and option schemas: metadata only, no
// network code, so the API and dashboard can list them and validate an agent's choices without
// loading any client. Model and voice lists are suggestions (vendors add new ones); ids are checked,
// models are free text where the vendor accepts any.
import { z } from 'zod';

export type ProviderKind = 'stt' | 'llm' | 'tts';

export interface CatalogModel {
  id: string;
  label: string;
}

export interface CatalogVoice {
  id: string;
  label: string;
  language?: string;
}

export interface CatalogEntry {
  /** The id used in agent configs and credentials, e.g. `deepgram`. */
  id: string;
  kind: ProviderKind;
  label: string;
  /** Whether a credential (API key) is needed; OpenAI-compatible local servers may not need one. */
  requiresApiKey: boolean;
  /** Whether `baseUrl` may point elsewhere (OpenAI-compatible servers). */
  customBaseUrl: boolean;
  defaultModel: string;
  models: readonly CatalogModel[];
  voices?: readonly CatalogVoice[];
  /** Telephone audio (μ-law 8 kHz) goes in or comes out without transcoding. */
  telephonyNative: boolean;
  /** The provider-specific `options` an agent may set. */
  options: z.ZodType<Record<string, unknown>>;
}

const noOptions = z.strictObject({});

export const PROVIDER_CATALOG: readonly CatalogEntry[] = [
  {
    id: 'deepgram',
    kind: 'stt',
    label: 'Deepgram (live streaming)',
    requiresApiKey: true,
    customBaseUrl: false,
    defaultModel: 'nova-3',
    models: [
      { id: 'nova-3', label: 'Nova-3' },
      { id: 'nova-2-phonecall', label: 'Nova-2 phone call' },
      { id: 'nova-2', label: 'Nova-2' },
    ],
    telephonyNative: true,
    options: z.strictObject({
      smartFormat: z.boolean().optional().describe('Punctuation and formatting of numbers.'),
      utteranceEndMs: z.number().int().min(1000).max(5000).optional().describe('Word-gap end of utterance.'),
    }),
  },
  {
    id: 'openai',
    kind: 'llm',
    label: 'OpenAI (chat completions)',
    requiresApiKey: true,
    customBaseUrl: true,
    defaultModel: 'gpt-4o-mini',
    models: [
      { id: 'gpt-4o-mini', label: 'GPT-4o mini' },
      { id: 'gpt-4o', label: 'GPT-4o' },
      { id: 'gpt-4.1-mini', label: 'GPT-4.1 mini' },
      { id: 'gpt-4.1', label: 'GPT-4.1' },
    ],
    telephonyNative: false,
    options: noOptions,
  },
  {
    id: 'openai-compatible',
    kind: 'llm',
    label: 'OpenAI-compatible server (Groq, OpenRouter, Together, vLLM, Ollama, …)',
    requiresApiKey: false,
    customBaseUrl: true,
    defaultModel: 'llama-3.1-8b-instant',
    models: [],
    telephonyNative: false,
    options: z.strictObject({
      headers: z
        .record(z.string().max(100), z.string().max(1000))
        .optional()
        .describe('Extra request headers.'),
    }),
  },
  {
    id: 'groq',
    kind: 'llm',
    label: 'Groq',
    requiresApiKey: true,
    customBaseUrl: false,
    defaultModel: 'llama-3.3-70b-versatile',
    models: [
      { id: 'llama-3.3-70b-versatile', label: 'Llama 3.3 70B' },
      { id: 'llama-3.1-8b-instant', label: 'Llama 3.1 8B instant' },
    ],
    telephonyNative: false,
    options: noOptions,
  },
  {
    id: 'openrouter',
    kind: 'llm',
    label: 'OpenRouter',
    requiresApiKey: true,
    customBaseUrl: false,
    defaultModel: 'openai/gpt-4o-mini',
    models: [],
    telephonyNative: false,
    options: noOptions,
  },
  {
    id: 'cartesia',
    kind: 'tts',
    label: 'Cartesia Sonic (WebSocket)',
    requiresApiKey: true,
    customBaseUrl: false,
    defaultModel: 'sonic-2',
    models: [
      { id: 'sonic-2', label: 'Sonic 2' },
      { id: 'sonic-3', label: 'Sonic 3' },
      { id: 'sonic-turbo', label: 'Sonic Turbo' },
    ],
    voices: [],
    telephonyNative: true,
    options: noOptions,
  },
  {
    id: 'elevenlabs',
    kind: 'tts',
    label: 'ElevenLabs (WebSocket input streaming)',
    requiresApiKey: true,
    customBaseUrl: false,
    defaultModel: 'eleven_flash_v2_5',
    models: [
      { id: 'eleven_flash_v2_5', label: 'Flash v2.5' },
      { id: 'eleven_turbo_v2_5', label: 'Turbo v2.5' },
      { id: 'eleven_multilingual_v2', label: 'Multilingual v2' },
    ],
    voices: [],
    telephonyNative: true,
    options: z.strictObject({
      stability: z.number().min(0).max(1).optional(),
      similarityBoost: z.number().min(0).max(1).optional(),
    }),
  },
  {
    id: 'openai-tts',
    kind: 'tts',
    label: 'OpenAI text-to-speech (streaming HTTP)',
    requiresApiKey: true,
    customBaseUrl: true,
    defaultModel: 'gpt-4o-mini-tts',
    models: [
      { id: 'gpt-4o-mini-tts', label: 'GPT-4o mini TTS' },
      { id: 'tts-1', label: 'TTS-1' },
    ],
    voices: [
      'alloy',
      'ash',
      'ballad',
      'coral',
      'echo',
      'fable',
      'nova',
      'onyx',
      'sage',
      'shimmer',
      'verse',
    ].map((id) => ({ id, label: id[0]!.toUpperCase() + id.slice(1) })),
    telephonyNative: false,
    options: z.strictObject({
      instructions: z.string().max(2000).optional().describe('How the voice should sound.'),
    }),
  },
];

/** Base URLs of the OpenAI-compatible vendors that have their own catalog entry. */
export const OPENAI_COMPATIBLE_BASE_URLS: Readonly<Record<string, string>> = {
  openai: 'https://api.openai.com/v1',
  groq: 'https://api.groq.com/openai/v1',
  openrouter: 'https://openrouter.ai/api/v1',
};

export function catalogEntry(kind: ProviderKind, id: string): CatalogEntry | undefined {
  return PROVIDER_CATALOG.find((entry) => entry.kind === kind && entry.id === id);
}

/**
 * Checks a provider choice against the catalog; returns problems as `{ path, message }` so callers can
 * report the exact field.
 */
export function validateProviderChoice(
  kind: ProviderKind,
  choice: { provider: string; options?: Record<string, unknown> },
): { path: string[]; message: string }[] {
  const entry = catalogEntry(kind, choice.provider);
  if (!entry) {
    const known = PROVIDER_CATALOG.filter((candidate) => candidate.kind === kind).map(
      (candidate) => candidate.id,
    );
    return [
      {
        path: ['provider'],
        message: `unknown ${kind} provider \`${choice.provider}\`; one of: ${known.join(', ')}`,
      },
    ];
  }
  const parsed = entry.options.safeParse(choice.options ?? {});
  if (parsed.success) return [];
  return parsed.error.issues.map((issue) => ({
    path: ['options', ...issue.path.map(String)],
    message: issue.message,
  }));
}
