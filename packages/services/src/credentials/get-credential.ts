import type { Credential } from '@parley/contracts';
import { authorize, type OrgContext } from '../context.js';
import { findCredential, toCredential } from './credential-row.js';

export async function getCredential(ctx: OrgContext, id: string): Promise<Credential> {
  authorize(ctx, 'credentials:read');
  return toCredential(await findCredential(ctx.db, ctx.organizationId, id));
}
