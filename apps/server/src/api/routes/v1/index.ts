import type { RouteModule } from '../../types.js';
import { apiKeyRoutes } from './api-keys.js';
import { authRoutes } from './auth.js';
import { organizationRoutes } from './organizations.js';
import { memberRoutes } from './members.js';
import { invitationRoutes } from './invitations.js';
import { adminRoutes } from './admin.js';
import { auditLogRoutes } from './audit-log.js';
import { credentialRoutes } from './credentials.js';
import { agentRoutes } from './agents.js';
import { providerRoutes } from './providers.js';
import { phoneNumberRoutes } from './phone-numbers.js';
import { callRoutes } from './calls.js';
import { toolRoutes } from './tools.js';
import { leadRoutes } from './leads.js';
import { webhookEndpointRoutes } from './webhook-endpoints.js';
import { analyticsRoutes } from './analytics.js';
import { callListenRoutes } from './call-listen.js';
import { eventRoutes } from './events.js';
import { runtimeRoutes } from './runtimes.js';

/** Every /api/v1 resource; a new resource adds its module here. */
export const V1_ROUTES: RouteModule[] = [
  authRoutes,
  apiKeyRoutes,
  organizationRoutes,
  memberRoutes,
  invitationRoutes,
  adminRoutes,
  auditLogRoutes,
  credentialRoutes,
  agentRoutes,
  providerRoutes,
  phoneNumberRoutes,
  callRoutes,
  toolRoutes,
  leadRoutes,
  webhookEndpointRoutes,
  analyticsRoutes,
  callListenRoutes,
  eventRoutes,
  runtimeRoutes,
];
