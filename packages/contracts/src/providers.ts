import { z } from 'zod';

/** One speech or language provider Parley can use, as the catalog lists it. */
export const ProviderCatalogEntry = z
  .object({
    id: z.string().describe('Used as `provider` in an agent’s stt/llm/tts and in credentials.'),
    kind: z.enum(['stt', 'llm', 'tts']),
    label: z.string(),
    requiresApiKey: z.boolean(),
    customBaseUrl: z.boolean().describe('Whether `baseUrl` may point at another server.'),
    defaultModel: z.string(),
    models: z.array(z.object({ id: z.string(), label: z.string() })),
    voices: z.array(z.object({ id: z.string(), label: z.string(), language: z.string().optional() })),
    telephonyNative: z.boolean().describe('Telephone audio (μ-law 8 kHz) in or out without transcoding.'),
    optionsSchema: z.record(z.string(), z.unknown()).describe('JSON Schema of the provider’s `options`.'),
  })
  .meta({ id: 'ProviderCatalogEntry' });
export type ProviderCatalogEntry = z.infer<typeof ProviderCatalogEntry>;

export const ProviderCatalog = z
  .object({ data: z.array(ProviderCatalogEntry) })
  .meta({ id: 'ProviderCatalog' });
export type ProviderCatalog = z.infer<typeof ProviderCatalog>;
