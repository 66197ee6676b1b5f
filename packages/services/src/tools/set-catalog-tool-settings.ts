// An organization's own credential and headers for a catalog tool.
import type { CatalogToolSettingsBody, Tool } from '@parley/contracts';
import { toolOrganizationSettings } from '@parley/db';
import { auditInOrganization } from '../audit.js';
import { authorize, nowOf, type OrgContext } from '../context.js';
import { ServiceError } from '../errors.js';
import { findVisibleTool, toTool } from './tool-row.js';
import { checkToolCredential } from './validate-tool.js';

/**
 * Sets the fields given (`credentialId: null` removes the credential); the others stay. They are the
 * organization's alone: no other organization, nor the catalog's own answer, ever shows them.
 */
export async function setCatalogToolSettings(
  ctx: OrgContext,
  id: string,
  input: CatalogToolSettingsBody,
): Promise<Tool> {
  authorize(ctx, 'tools:write');
  return ctx.db.transaction(async (tx) => {
    const { row, settings } = await findVisibleTool(tx, ctx.organizationId, id, { lock: true });
    if (row.organizationId !== null) {
      throw new ServiceError(
        'conflict',
        'Only catalog tools take organization settings: edit this tool itself with PATCH /api/v1/tools/:id',
      );
    }
    if (row.kind === 'builtin') {
      throw new ServiceError(
        'conflict',
        'A built-in tool makes no requests: it has no credential or headers',
      );
    }
    await checkToolCredential(tx, ctx.organizationId, 'credentialId', input.credentialId);
    const next = {
      credentialId: input.credentialId === undefined ? (settings?.credentialId ?? null) : input.credentialId,
      headers: input.headers ?? settings?.headers ?? {},
    };
    const now = nowOf(ctx);
    const [saved] = await tx
      .insert(toolOrganizationSettings)
      .values({ toolId: row.id, organizationId: ctx.organizationId, ...next, createdAt: now, updatedAt: now })
      .onConflictDoUpdate({
        target: [toolOrganizationSettings.toolId, toolOrganizationSettings.organizationId],
        set: { ...next, updatedAt: now },
      })
      .returning();
    await auditInOrganization(tx, ctx, {
      action: 'tool.settings_update',
      targetType: 'tool',
      targetId: row.id,
      // Header names, never their values.
      details: {
        name: row.name,
        credentialId: next.credentialId,
        headers: Object.keys(next.headers),
      },
    });
    return toTool({ row, settings: saved ?? null });
  });
}
