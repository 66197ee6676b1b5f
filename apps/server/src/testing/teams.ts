// Test-only: organizations with several members, built through the public API (invite, then accept),
// and a look at the audit rows an organization's mutations wrote.
import { and, asc, auditLog, eq, type DatabaseHandle } from '@parley/db';
import type { Client, Harness, SignedInUser } from './harness.js';

export type InvitedRole = 'admin' | 'member' | 'viewer';

/** Invites `email` with `by`'s client and returns the invitation as created (token included). */
export async function invite(by: Client, email: string, role: InvitedRole, expiresInHours?: number) {
  const response = await by.post('/api/v1/invitations', {
    email,
    role,
    ...(expiresInHours === undefined ? {} : { expiresInHours }),
  });
  if (response.status !== 201) throw new Error(`invitation failed: ${JSON.stringify(response.body)}`);
  return response.body as { id: string; token: string; acceptUrl: string; role: string; email: string };
}

/**
 * Signs up a new user and makes them a member of `owner`'s current organization with `role`. The
 * returned client acts in that organization (the user's own sign-up organization stays their first).
 */
export async function addMember(h: Harness, owner: SignedInUser, role: InvitedRole, label: string = role) {
  const user = await h.signup(label);
  const invitation = await invite(owner.client, user.email, role);
  const accepted = await user.client.post('/api/v1/invitations/accept', { token: invitation.token });
  if (accepted.status !== 200) throw new Error(`accept failed: ${JSON.stringify(accepted.body)}`);
  return {
    ...user,
    ownOrganizationId: user.organizationId,
    organizationId: owner.organizationId,
    client: user.client.inOrganization(owner.organizationId),
  };
}

/** The audit rows of an organization, oldest first. */
export async function auditRows(database: DatabaseHandle, organizationId: string, action?: string) {
  return database.db
    .select()
    .from(auditLog)
    .where(and(eq(auditLog.organizationId, organizationId), action ? eq(auditLog.action, action) : undefined))
    .orderBy(asc(auditLog.id));
}
