import type { Database, Executor } from '@parley/db';
import type { ApiKeyScope, Role } from '@parley/contracts';
import type { SecretBox } from './secret-box.js';
import type { CallDialer, CallLimits } from './calls/call-dialer.js';
import type { CallCommandPort } from './calls/control-call.js';
import { organizationSuspended, ServiceError } from './errors.js';
import { isReadPermission, type Permission } from './permissions.js';

/** What every verb needs from the process, fixed at start-up. */
export interface ServiceDeps {
  db: Database;
  secretBox: SecretBox;
  /** Where users reach this instance (links in invitations and the setup URL). */
  publicUrl: string;
  /** PARLEY_SIGNUP_ENABLED; an instance setting may override it. */
  signupEnabled: boolean;
  sessionTtlMs: number;
  now?: () => Date;
  /** Places outbound calls; without one, placing a call answers 503 `telephony_unavailable`. */
  dialer?: CallDialer;
  /** Per-organization call limits; DEFAULT_CALL_LIMITS when absent. */
  callLimits?: CallLimits;
  /** Reaches the runtime carrying a live call (the event bus); without one, call control answers 503. */
  callCommands?: CallCommandPort;
  /**
   * PARLEY_RUNTIME_STALE_AFTER_MS: a runtime silent this long is presumed dead (not offered new calls,
   * listed as `stale`); DEFAULT_RUNTIME_STALE_AFTER_MS when absent.
   */
  runtimeStaleAfterMs?: number;
}

export type Actor =
  | { type: 'user'; userId: string; email: string; isInstanceAdmin: boolean }
  /** Someone not signed in (signing up, logging in, redeeming the setup link): trusted with nothing. */
  | { type: 'anonymous' }
  | { type: 'api_key'; apiKeyId: string; name: string; organizationId: string; scopes: ApiKeyScope[] }
  | { type: 'system'; label: string };

/** Who is acting, from where: built by the edge (HTTP route, CLI) for each request. */
export interface ServiceContext extends ServiceDeps {
  actor: Actor;
  clientIp: string | null;
}

/** A context bound to one organization, with what the actor may do in it. */
export interface OrgContext extends ServiceContext {
  organizationId: string;
  /** The user's role; null when the actor is an API key. */
  role: Role | null;
  permissions: ReadonlySet<Permission>;
  suspended: boolean;
}

export const nowOf = (deps: ServiceDeps) => (deps.now ? deps.now() : new Date());

/**
 * The guard at the top of every organization verb. A suspended organization can still be looked at
 * by its members, but nothing in it changes.
 */
export function authorize(ctx: OrgContext, permission: Permission): void {
  if (!ctx.permissions.has(permission)) {
    const who = ctx.actor.type === 'api_key' ? 'this API key’s scopes' : `the ${ctx.role} role`;
    throw new ServiceError('forbidden', `Not allowed: ${permission} is not granted to ${who}`, {
      required: permission,
    });
  }
  if (ctx.suspended && !isReadPermission(permission)) {
    throw organizationSuspended();
  }
}

export type UserActor = Extract<Actor, { type: 'user' }>;

export const userActor = (user: { id: string; email: string; isInstanceAdmin: boolean }): UserActor => ({
  type: 'user',
  userId: user.id,
  email: user.email,
  isInstanceAdmin: user.isInstanceAdmin,
});

export function requireUser(ctx: ServiceContext): Extract<Actor, { type: 'user' }> {
  if (ctx.actor.type !== 'user') {
    throw new ServiceError('forbidden', 'Only a signed-in user can do this, not an API key');
  }
  return ctx.actor;
}

export function requireInstanceAdmin(ctx: ServiceContext): void {
  if (ctx.actor.type === 'system') return;
  if (ctx.actor.type !== 'user' || !ctx.actor.isInstanceAdmin) {
    throw new ServiceError('forbidden', 'Only an instance administrator can do this');
  }
}

/** The user id to record as "done by", or null for keys and the system. */
export const actorUserId = (ctx: ServiceContext) => (ctx.actor.type === 'user' ? ctx.actor.userId : null);

export type { Executor };
