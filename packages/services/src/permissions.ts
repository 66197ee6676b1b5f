import type { ApiKeyScope, Role } from '@parley/contracts';

/** Everything a verb can require. Reads end in `:read`; everything else mutates. */
export const PERMISSIONS = [
  'organization:read',
  'organization:update',
  'organization:delete',
  'organization:transfer',
  'members:read',
  'members:write',
  'api_keys:read',
  'api_keys:write',
  'credentials:read',
  'credentials:write',
  'agents:read',
  'agents:write',
  'calls:read',
  'calls:write',
  'phone_numbers:read',
  'phone_numbers:write',
  'tools:read',
  'tools:write',
  'audit_log:read',
  'webhooks:read',
  'webhooks:write',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

export const isReadPermission = (p: Permission) => p.endsWith(':read');

const VIEWER: Permission[] = [
  'organization:read',
  'members:read',
  'credentials:read',
  'agents:read',
  'calls:read',
  'phone_numbers:read',
  'tools:read',
];
const MEMBER: Permission[] = [...VIEWER, 'agents:write', 'calls:write'];
const ADMIN: Permission[] = [
  ...MEMBER,
  'organization:update',
  'members:write',
  'api_keys:read',
  'api_keys:write',
  'credentials:write',
  // Numbers route real calls (and cost money per minute), so re-pointing them is an admin's call.
  'phone_numbers:write',
  // A tool sends requests to any URL it names, signed with the organization's credentials, so making
  // or re-pointing one is as sensitive as writing a credential. Members still attach existing tools to
  // the agents they edit (agents:write).
  'tools:write',
  'audit_log:read',
  // The endpoints' secrets sign what Parley sends, and their deliveries carry transcripts, so they are
  // an admin's, like credentials.
  'webhooks:read',
  'webhooks:write',
];
const OWNER: Permission[] = [...ADMIN, 'organization:delete', 'organization:transfer'];

/** The permission matrix (docs/permissions.md shows it as a table; a test keeps the two equal). */
export const ROLE_PERMISSIONS: Record<Role, ReadonlySet<Permission>> = {
  owner: new Set(OWNER),
  admin: new Set(ADMIN),
  member: new Set(MEMBER),
  viewer: new Set(VIEWER),
};

/**
 * What each API-key scope grants. Every key may read its organization; none may delete or transfer it,
 * nor invite, remove or re-role members.
 */
export const SCOPE_PERMISSIONS: Record<ApiKeyScope, Permission[]> = {
  'agents:read': ['agents:read'],
  'agents:write': ['agents:read', 'agents:write'],
  'calls:read': ['calls:read'],
  'calls:write': ['calls:read', 'calls:write'],
  'phone_numbers:read': ['phone_numbers:read'],
  'phone_numbers:write': ['phone_numbers:read', 'phone_numbers:write'],
  'credentials:read': ['credentials:read'],
  'credentials:write': ['credentials:read', 'credentials:write'],
  'tools:read': ['tools:read'],
  'tools:write': ['tools:read', 'tools:write'],
  'members:read': ['members:read'],
  'audit_log:read': ['audit_log:read'],
  'webhooks:read': ['webhooks:read'],
  'webhooks:write': ['webhooks:read', 'webhooks:write'],
  // People are managed by people: a leaked key must not be able to invite a lasting admin account.
  admin: ADMIN.filter((p) => p !== 'members:write'),
};

export function permissionsOfScopes(scopes: readonly ApiKeyScope[]): Set<Permission> {
  return new Set<Permission>(['organization:read', ...scopes.flatMap((s) => SCOPE_PERMISSIONS[s])]);
}
