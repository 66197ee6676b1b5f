import { z } from 'zod';
import { Id, PageQuery, Timestamp } from './common.js';

export const AdminOrganization = z
  .object({
    id: Id,
    name: z.string(),
    suspended: z.boolean(),
    suspendedAt: Timestamp.nullable(),
    suspendedReason: z.string().nullable().describe('Why an instance administrator suspended it.'),
    createdAt: Timestamp,
    usage: z
      .object({
        members: z.number().int(),
        agents: z.number().int().describe('Agents not deleted.'),
        apiKeys: z.number().int().describe('API keys not revoked.'),
      })
      .describe('Counts at the time of the request.'),
  })
  .meta({ id: 'AdminOrganization' });
export type AdminOrganization = z.infer<typeof AdminOrganization>;

export const AdminOrganizationsQuery = PageQuery.extend({
  suspended: z
    .enum(['true', 'false'])
    .transform((v) => v === 'true')
    .optional()
    .describe('Only suspended (`true`) or only active (`false`) organizations.'),
});
export type AdminOrganizationsQuery = z.infer<typeof AdminOrganizationsQuery>;

export const SuspendOrganizationBody = z.strictObject({
  reason: z
    .string()
    .trim()
    .min(1, 'must not be empty')
    .max(1000, 'must be at most 1000 characters')
    .describe('Shown to operators; recorded in the audit log.'),
});
export type SuspendOrganizationBody = z.infer<typeof SuspendOrganizationBody>;

/** Settings that apply to the whole installation, editable by instance administrators. */
export const InstanceSettings = z
  .strictObject({
    signupEnabled: z
      .boolean()
      .nullable()
      .describe('Overrides PARLEY_SIGNUP_ENABLED when set; null follows the configuration.'),
    maxOrganizationsPerUser: z.number().int().min(1).max(1000),
    maxAgentsPerOrganization: z.number().int().min(1).max(100_000),
  })
  .meta({ id: 'InstanceSettings' });
export type InstanceSettings = z.infer<typeof InstanceSettings>;

export const DEFAULT_INSTANCE_SETTINGS: InstanceSettings = {
  signupEnabled: null,
  maxOrganizationsPerUser: 20,
  maxAgentsPerOrganization: 1000,
};

export const UpdateInstanceSettingsBody = InstanceSettings.partial();
export type UpdateInstanceSettingsBody = z.infer<typeof UpdateInstanceSettingsBody>;
