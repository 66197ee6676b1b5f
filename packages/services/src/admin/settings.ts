import type { InstanceSettings, UpdateInstanceSettingsBody } from '@parley/contracts';
import { audit } from '../audit.js';
import { nowOf, requireInstanceAdmin, type ServiceContext } from '../context.js';
import { mergeInstanceSettings, readInstanceSettings } from '../instance-settings.js';

export async function getInstanceSettings(ctx: ServiceContext): Promise<InstanceSettings> {
  requireInstanceAdmin(ctx);
  return readInstanceSettings(ctx.db);
}

/** Changes only the settings given; `signupEnabled: null` goes back to following the configuration. */
export async function updateInstanceSettings(
  ctx: ServiceContext,
  patch: UpdateInstanceSettingsBody,
): Promise<InstanceSettings> {
  requireInstanceAdmin(ctx);
  return ctx.db.transaction(async (tx) => {
    await mergeInstanceSettings(tx, patch, nowOf(ctx));
    await audit(tx, ctx, {
      organizationId: null,
      action: 'instance_settings.update',
      targetType: 'instance_settings',
      // Settings are switches and limits, never secrets: the new values are the useful record.
      details: { changes: patch },
    });
    return readInstanceSettings(tx);
  });
}
