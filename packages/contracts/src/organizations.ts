import { z } from 'zod';
import { Email, Id, Name, Timestamp } from './common.js';
import { MyOrganization, Role } from './auth.js';

/** Days a call's data is kept after the call ended; null keeps it forever. */
export const RetentionDays = z
  .number()
  .int()
  .min(1)
  .max(3650)
  .nullable()
  .describe('Days kept after the call ended (1–3650); null keeps it forever.');

export const Organization = z
  .object({
    id: Id,
    name: z.string(),
    suspended: z.boolean(),
    recordingRetentionDays: RetentionDays,
    transcriptRetentionDays: RetentionDays,
    createdAt: Timestamp,
  })
  .meta({ id: 'Organization' });
export type Organization = z.infer<typeof Organization>;

export const CreateOrganizationBody = z.strictObject({ name: Name });
/** Only the fields sent change. */
export const UpdateOrganizationBody = z
  .strictObject({
    name: Name.optional(),
    recordingRetentionDays: RetentionDays.optional(),
    transcriptRetentionDays: RetentionDays.optional(),
  })
  .refine((body) => Object.keys(body).length > 0, 'must change at least one field');
export type UpdateOrganizationBody = z.infer<typeof UpdateOrganizationBody>;
export const TransferOwnershipBody = z.strictObject({ userId: Id });

export const Member = z
  .object({ userId: Id, email: z.string(), name: z.string(), role: Role, joinedAt: Timestamp })
  .meta({ id: 'Member' });
export type Member = z.infer<typeof Member>;

/** Owners are made by transfer, never by invitation or role change. */
export const AssignableRole = z.enum(['admin', 'member', 'viewer']);
export type AssignableRole = z.infer<typeof AssignableRole>;

export const ChangeRoleBody = z.strictObject({ role: AssignableRole });
export const MemberParams = z.strictObject({ userId: Id });

/** The two memberships a transfer changes: the new owner and the previous one (now an admin). */
export const OwnershipTransfer = z
  .object({ owner: Member, previousOwner: Member })
  .meta({ id: 'OwnershipTransfer' });
export type OwnershipTransfer = z.infer<typeof OwnershipTransfer>;

export const CreateInvitationBody = z.strictObject({
  email: Email,
  role: AssignableRole,
  expiresInHours: z
    .number()
    .int()
    .min(1)
    .max(24 * 30)
    .default(72),
});
export type CreateInvitationBody = z.infer<typeof CreateInvitationBody>;

export const Invitation = z
  .object({
    id: Id,
    email: z.string(),
    role: Role,
    expiresAt: Timestamp,
    acceptedAt: Timestamp.nullable(),
    createdAt: Timestamp,
  })
  .meta({ id: 'Invitation' });
export type Invitation = z.infer<typeof Invitation>;

export const CreatedInvitation = Invitation.extend({
  token: z.string().describe('Shown once. The invitee accepts with it.'),
  acceptUrl: z.string(),
});
export type CreatedInvitation = z.infer<typeof CreatedInvitation>;

export const AcceptInvitationBody = z.strictObject({
  token: z.string().min(1, 'must not be empty').max(200),
});

/** The organization an accepted invitation joined, with the role it gave; use its id as `Parley-Organization`. */
export const JoinedOrganization = MyOrganization.meta({ id: 'JoinedOrganization' });
export type JoinedOrganization = z.infer<typeof JoinedOrganization>;
