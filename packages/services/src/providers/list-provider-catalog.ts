import type { ProviderCatalog } from '@parley/contracts';
import { PROVIDER_CATALOG } from '@parley/providers/catalog';
import { z } from 'zod';
import type { ServiceContext } from '../context.js';

/**
 * The providers an agent may choose, with models, voices and option schemas. Instance-wide metadata
 * (no secrets, no organization data): any signed-in user or API key may read it.
 */
export function listProviderCatalog(_ctx: ServiceContext): ProviderCatalog {
  return {
    data: PROVIDER_CATALOG.map((entry) => ({
      id: entry.id,
      kind: entry.kind,
      label: entry.label,
      requiresApiKey: entry.requiresApiKey,
      customBaseUrl: entry.customBaseUrl,
      defaultModel: entry.defaultModel,
      models: [...entry.models],
      voices: [...(entry.voices ?? [])],
      telephonyNative: entry.telephonyNative,
      optionsSchema: z.toJSONSchema(entry.options) as Record<string, unknown>,
    })),
  };
}
