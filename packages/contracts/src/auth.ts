import { z } from 'zod';
import { Email, Id, Name, Password, Timestamp } from './common.js';

export const ROLES = ['owner', 'admin', 'member', 'viewer'] as const;
export const Role = z.enum(ROLES);
export type Role = z.infer<typeof Role>;

export const SignupBody = z.strictObject({
  email: Email,
  password: Password,
  name: Name,
  organizationName: Name,
});
export type SignupBody = z.infer<typeof SignupBody>;

/** Completes the one-time setup link printed on first start: creates the owner and instance admin. */
export const SetupBody = SignupBody.extend({ token: z.string().min(1, 'must not be empty').max(200) });
export type SetupBody = z.infer<typeof SetupBody>;

export const LoginBody = z.strictObject({
  email: Email,
  password: z.string().min(1, 'must not be empty').max(256),
});
export type LoginBody = z.infer<typeof LoginBody>;

export const User = z
  .object({
    id: Id,
    email: z.string(),
    name: z.string(),
    isInstanceAdmin: z.boolean(),
    createdAt: Timestamp,
  })
  .meta({ id: 'User' });
export type User = z.infer<typeof User>;

export const MyOrganization = z.object({
  id: Id,
  name: z.string(),
  role: Role,
  suspended: z.boolean(),
});

export const Me = z
  .object({
    user: User,
    organizations: z.array(MyOrganization),
    /** The organization this request acted in (header `Parley-Organization`, else the first). */
    currentOrganizationId: Id.nullable(),
    csrfToken: z.string().nullable().describe('Send as `X-CSRF-Token` on cookie-authenticated mutations.'),
  })
  .meta({ id: 'Me' });
export type Me = z.infer<typeof Me>;

export const SetupStatus = z.object({ needsSetup: z.boolean(), signupEnabled: z.boolean() });
