import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { uuidv7 } from './ids.js';

const id = () =>
  uuid('id')
    .primaryKey()
    .$defaultFn(() => uuidv7());
const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();
const updatedAt = () => timestamp('updated_at', { withTimezone: true }).notNull().defaultNow();
const organizationId = () =>
  uuid('organization_id')
    .notNull()
    .references(() => organizations.id, { onDelete: 'cascade' });

export const organizations = pgTable('organizations', {
  id: id(),
  name: text('name').notNull(),
  suspendedAt: timestamp('suspended_at', { withTimezone: true }),
  suspendedReason: text('suspended_reason'),
  /** Days a call's recording is kept after the call; null keeps it forever. */
  recordingRetentionDays: integer('recording_retention_days'),
  /** Days a call's transcript (and spoken-text events) is kept after the call; null keeps it forever. */
  transcriptRetentionDays: integer('transcript_retention_days'),
  createdAt: createdAt(),
});

export const users = pgTable(
  'users',
  {
    id: id(),
    email: text('email').notNull(),
    name: text('name').notNull(),
    passwordHash: text('password_hash').notNull(),
    isInstanceAdmin: boolean('is_instance_admin').notNull().default(false),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('users_email_unique').on(t.email)],
);

export const memberships = pgTable(
  'memberships',
  {
    organizationId: organizationId(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    role: text('role', { enum: ['owner', 'admin', 'member', 'viewer'] }).notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.organizationId, t.userId] }), index('memberships_user_idx').on(t.userId)],
);

export const sessions = pgTable(
  'sessions',
  {
    id: id(),
    tokenHash: text('token_hash').notNull(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    csrfToken: text('csrf_token').notNull(),
    createdAt: createdAt(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('sessions_token_hash_unique').on(t.tokenHash), index('sessions_user_idx').on(t.userId)],
);

export const invitations = pgTable(
  'invitations',
  {
    id: id(),
    organizationId: organizationId(),
    email: text('email').notNull(),
    role: text('role', { enum: ['admin', 'member', 'viewer'] }).notNull(),
    tokenHash: text('token_hash').notNull(),
    invitedBy: uuid('invited_by').references(() => users.id, { onDelete: 'set null' }),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    acceptedAt: timestamp('accepted_at', { withTimezone: true }),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('invitations_token_hash_unique').on(t.tokenHash),
    index('invitations_org_idx').on(t.organizationId),
  ],
);

export const apiKeys = pgTable(
  'api_keys',
  {
    id: id(),
    organizationId: organizationId(),
    name: text('name').notNull(),
    prefix: text('prefix').notNull(),
    secretHash: text('secret_hash').notNull(),
    scopes: text('scopes').array().notNull(),
    createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
    expiresAt: timestamp('expires_at', { withTimezone: true }),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('api_keys_prefix_unique').on(t.prefix), index('api_keys_org_idx').on(t.organizationId)],
);

export const credentials = pgTable(
  'credentials',
  {
    id: id(),
    organizationId: organizationId(),
    name: text('name').notNull(),
    provider: text('provider').notNull(),
    /** Which derivation of the instance secret encrypted `ciphertext` (for key rotation). */
    keyId: text('key_id').notNull(),
    /** AES-256-GCM: base64 of iv (12 bytes) ‖ auth tag (16 bytes) ‖ ciphertext. */
    ciphertext: text('ciphertext').notNull(),
    publicValues: jsonb('public_values').$type<Record<string, string>>().notNull(),
    hint: text('hint').notNull(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('credentials_org_idx').on(t.organizationId)],
);

export const agents = pgTable(
  'agents',
  {
    id: id(),
    organizationId: organizationId(),
    name: text('name').notNull(),
    draft: jsonb('draft').$type<Record<string, unknown>>().notNull(),
    publishedVersion: integer('published_version'),
    /** Bumped on every draft edit; compared with the published version's to tell unpublished changes. */
    draftRevision: integer('draft_revision').notNull().default(1),
    publishedRevision: integer('published_revision'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    deletedAt: timestamp('deleted_at', { withTimezone: true }),
  },
  (t) => [
    index('agents_org_idx')
      .on(t.organizationId, t.id)
      .where(sql`deleted_at is null`),
  ],
);

export const agentVersions = pgTable(
  'agent_versions',
  {
    id: id(),
    organizationId: organizationId(),
    agentId: uuid('agent_id')
      .notNull()
      .references(() => agents.id, { onDelete: 'cascade' }),
    version: integer('version').notNull(),
    config: jsonb('config').$type<Record<string, unknown>>().notNull(),
    publishedBy: uuid('published_by'),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('agent_versions_agent_version_unique').on(t.agentId, t.version)],
);

export const auditLog = pgTable(
  'audit_log',
  {
    id: id(),
    /** No foreign key: the trail outlives a deleted organization. Null for instance-wide actions. */
    organizationId: uuid('organization_id'),
    actorType: text('actor_type', { enum: ['user', 'api_key', 'system'] }).notNull(),
    actorId: uuid('actor_id'),
    actorLabel: text('actor_label').notNull(),
    action: text('action').notNull(),
    targetType: text('target_type').notNull(),
    targetId: text('target_id'),
    details: jsonb('details').$type<Record<string, unknown>>().notNull().default({}),
    clientIp: text('client_ip'),
    createdAt: createdAt(),
  },
  (t) => [index('audit_log_org_idx').on(t.organizationId, t.id)],
);

export const instanceSettings = pgTable('instance_settings', {
  key: text('key').primaryKey(),
  value: jsonb('value').notNull(),
  updatedAt: updatedAt(),
});

export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    organizationId: organizationId(),
    key: text('key').notNull(),
    requestHash: text('request_hash').notNull(),
    statusCode: integer('status_code').notNull(),
    responseBody: jsonb('response_body'),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.organizationId, t.key] })],
);

/**
 * A carrier number of an organization. Inbound calls are routed by (carrier, number) to the inbound
 * agent's published version; the credential signs and verifies the carrier's requests.
 */
export const phoneNumbers = pgTable(
  'phone_numbers',
  {
    id: id(),
    organizationId: organizationId(),
    carrier: text('carrier').notNull(),
    /** E.164. */
    number: text('number').notNull(),
    name: text('name').notNull(),
    credentialId: uuid('credential_id').references(() => credentials.id, { onDelete: 'restrict' }),
    inboundAgentId: uuid('inbound_agent_id').references(() => agents.id, { onDelete: 'set null' }),
    /**
     * The inbound "assistant request" hook: before an incoming call starts, the customer's server is
     * asked which agent takes it (or what to override); null to always use `inboundAgentId`.
     */
    assistantRequest: jsonb('assistant_request').$type<Record<string, unknown>>(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index('phone_numbers_org_idx').on(t.organizationId, t.id),
    // One owner per number and carrier on an instance: an inbound call must route to exactly one agent.
    uniqueIndex('phone_numbers_carrier_number_unique').on(t.carrier, t.number),
  ],
);

/** A voice process that carries calls; a call whose runtime stops heartbeating is closed as runtime_lost. */
export const runtimes = pgTable('runtimes', {
  id: text('id').primaryKey(),
  startedAt: timestamp('started_at', { withTimezone: true }).notNull().defaultNow(),
  heartbeatAt: timestamp('heartbeat_at', { withTimezone: true }).notNull().defaultNow(),
  draining: boolean('draining').notNull().default(false),
  /** `all` (parley serve) or `runtime` (--role runtime). */
  role: text('role').notNull().default('all'),
  version: text('version').notNull().default(''),
  host: text('host').notNull().default(''),
  /**
   * Where carriers reach this runtime's media sockets (its own public base URL); null when it is the
   * instance's public URL (one runtime, or a load balancer that keeps a call on one process).
   */
  mediaUrl: text('media_url'),
  /** The calls it carried at its last heartbeat. */
  activeCalls: integer('active_calls').notNull().default(0),
  /** When it was asked to drain; null when it takes new calls. */
  drainingSince: timestamp('draining_since', { withTimezone: true }),
});

export const calls = pgTable(
  'calls',
  {
    id: id(),
    organizationId: organizationId(),
    agentId: uuid('agent_id').references(() => agents.id, { onDelete: 'set null' }),
    agentVersion: integer('agent_version'),
    direction: text('direction', { enum: ['inbound', 'outbound', 'web'] }).notNull(),
    /** The carrier (twilio, exotel, ...) or `web` / `simulated`. */
    transport: text('transport').notNull(),
    phoneNumberId: uuid('phone_number_id').references(() => phoneNumbers.id, { onDelete: 'set null' }),
    fromNumber: text('from_number'),
    toNumber: text('to_number'),
    status: text('status').notNull(),
    /** Why it ended, in Parley's words (caller_hung_up, agent_ended, runtime_lost, ...). */
    endReason: text('end_reason'),
    /** The carrier's own words for the last status (its status, hangup cause or SIP code). */
    carrierReason: text('carrier_reason'),
    carrierCallId: text('carrier_call_id'),
    answeredBy: text('answered_by'),
    variables: jsonb('variables').$type<Record<string, string>>().notNull().default({}),
    metadata: jsonb('metadata').$type<Record<string, unknown>>().notNull().default({}),
    runtimeId: text('runtime_id'),
    /** SHA-256 of the short-lived token the media socket must present. */
    mediaTokenHash: text('media_token_hash'),
    mediaTokenExpiresAt: timestamp('media_token_expires_at', { withTimezone: true }),
    recordingPath: text('recording_path'),
    recordingDurationMs: integer('recording_duration_ms'),
    /** Per-turn latency summary (p50/p95 of each stage), written when the call ends. */
    latency: jsonb('latency').$type<Record<string, unknown>>(),
    /**
     * Set only on calls `parley call simulate` started: the loopback URLs of the provider simulators
     * that carry it instead of the agent's providers. Server-only: the API never accepts or returns it.
     */
    simulation: jsonb('simulation').$type<Record<string, unknown>>(),
    createdAt: createdAt(),
    answeredAt: timestamp('answered_at', { withTimezone: true }),
    endedAt: timestamp('ended_at', { withTimezone: true }),
    updatedAt: updatedAt(),
  },
  (t) => [
    index('calls_org_idx').on(t.organizationId, t.id),
    index('calls_status_idx').on(t.status),
    uniqueIndex('calls_carrier_call_unique')
      .on(t.transport, t.carrierCallId)
      .where(sql`carrier_call_id is not null`),
  ],
);

/** A call's ordered events, appended as they happen (a crash loses at most the last flush). */
export const callEvents = pgTable(
  'call_events',
  {
    callId: uuid('call_id')
      .notNull()
      .references(() => calls.id, { onDelete: 'cascade' }),
    seq: integer('seq').notNull(),
    organizationId: organizationId(),
    type: text('type').notNull(),
    /** Ms since the call started. */
    atMs: bigint('at_ms', { mode: 'number' }).notNull(),
    data: jsonb('data').$type<Record<string, unknown>>().notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.callId, t.seq] })],
);

/** What was said, turn by turn: the caller's committed turns and what the caller heard of the agent. */
export const transcriptTurns = pgTable(
  'transcript_turns',
  {
    callId: uuid('call_id')
      .notNull()
      .references(() => calls.id, { onDelete: 'cascade' }),
    seq: integer('seq').notNull(),
    organizationId: organizationId(),
    role: text('role', { enum: ['user', 'agent'] }).notNull(),
    text: text('text').notNull(),
    /** Ms since the call started. */
    atMs: bigint('at_ms', { mode: 'number' }).notNull(),
    interrupted: boolean('interrupted').notNull().default(false),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.callId, t.seq] })],
);

/**
 * A source of functions an agent may call: a webhook, an MCP server or a built-in. An organization's
 * own, or (organization null) one of the instance's shared catalog, which every organization may use.
 * Deleted for good: agent versions keep only its id, and deleting is refused while an agent's draft or
 * published version uses it.
 */
export const tools = pgTable(
  'tools',
  {
    id: id(),
    /** Null: a catalog tool, published by an instance administrator to every organization. */
    organizationId: uuid('organization_id').references(() => organizations.id, { onDelete: 'cascade' }),
    kind: text('kind', { enum: ['webhook', 'mcp', 'builtin'] }).notNull(),
    name: text('name').notNull(),
    /** The function the model calls (webhook and built-in tools); null for MCP servers. */
    functionName: text('function_name'),
    description: text('description').notNull(),
    /** The JSON Schema of the function's arguments (webhook tools). */
    parameters: jsonb('parameters').$type<Record<string, unknown>>(),
    /** The kind's own settings (the webhook, MCP or built-in object of the API), never a secret. */
    settings: jsonb('settings').$type<Record<string, unknown>>().notNull(),
    /** MCP: the functions the server listed at the last successful discovery. */
    discoveredFunctions: jsonb('discovered_functions').$type<Record<string, unknown>[]>(),
    discoveredAt: timestamp('discovered_at', { withTimezone: true }),
    discoveryError: text('discovery_error'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index('tools_org_idx').on(t.organizationId, t.id),
    // The model tells functions apart by name only, so an organization's own names are unique.
    uniqueIndex('tools_org_function_unique')
      .on(t.organizationId, t.functionName)
      .where(sql`organization_id is not null and function_name is not null`),
  ],
);

/** An organization's own settings for a catalog tool: its credential and extra headers. */
export const toolOrganizationSettings = pgTable(
  'tool_organization_settings',
  {
    toolId: uuid('tool_id')
      .notNull()
      .references(() => tools.id, { onDelete: 'cascade' }),
    organizationId: organizationId(),
    credentialId: uuid('credential_id').references(() => credentials.id, { onDelete: 'set null' }),
    headers: jsonb('headers').$type<Record<string, string>>().notNull().default({}),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [primaryKey({ columns: [t.toolId, t.organizationId] })],
);

/**
 * Structured details a caller gave, saved by the built-in `capture_lead` tool. Personal data: it goes
 * with the call it came from (deleted with it), and outlives the agent or tool only as loose ids.
 */
export const leads = pgTable(
  'leads',
  {
    id: id(),
    organizationId: organizationId(),
    callId: uuid('call_id').references(() => calls.id, { onDelete: 'cascade' }),
    agentId: uuid('agent_id').references(() => agents.id, { onDelete: 'set null' }),
    toolId: uuid('tool_id').references(() => tools.id, { onDelete: 'set null' }),
    fields: jsonb('fields').$type<Record<string, unknown>>().notNull(),
    createdAt: createdAt(),
  },
  (t) => [index('leads_org_idx').on(t.organizationId, t.id), index('leads_call_idx').on(t.callId)],
);

/**
 * Where an organization wants its events POSTed. The signing secret is sealed like a credential; an
 * endpoint that kept failing is disabled (with the reason) and counts its run of failed attempts.
 */
export const webhookEndpoints = pgTable(
  'webhook_endpoints',
  {
    id: id(),
    organizationId: organizationId(),
    url: text('url').notNull(),
    description: text('description').notNull().default(''),
    /** The event types it receives; empty: all of them. */
    eventTypes: jsonb('event_types').$type<string[]>().notNull().default([]),
    /** The sealed signing secret (`whsec_…`): which key sealed it and the AES-256-GCM ciphertext. */
    secretKeyId: text('secret_key_id').notNull(),
    secretCiphertext: text('secret_ciphertext').notNull(),
    enabled: boolean('enabled').notNull().default(true),
    disabledReason: text('disabled_reason'),
    /** Failed attempts since the last success, and when that run began. */
    consecutiveFailures: integer('consecutive_failures').notNull().default(0),
    firstFailureAt: timestamp('first_failure_at', { withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('webhook_endpoints_org_idx').on(t.organizationId, t.id)],
);

/** One event to send to one endpoint, kept until it succeeded or was abandoned (and after, as history). */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    id: id(),
    endpointId: uuid('endpoint_id')
      .notNull()
      .references(() => webhookEndpoints.id, { onDelete: 'cascade' }),
    organizationId: organizationId(),
    /** The event's id (`Parley-Event-Id`): the same on every attempt and on a replay. */
    eventId: uuid('event_id').notNull(),
    eventType: text('event_type').notNull(),
    /** The whole event as sent: `{ id, type, createdAt, data }`. */
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
    status: text('status', { enum: ['pending', 'succeeded', 'failed', 'abandoned'] }).notNull(),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }),
    lastStatus: integer('last_status'),
    lastErrorCode: text('last_error_code'),
    /** The delivery this one replays, if any. */
    replayOf: uuid('replay_of'),
    createdAt: createdAt(),
    deliveredAt: timestamp('delivered_at', { withTimezone: true }),
  },
  (t) => [
    index('webhook_deliveries_endpoint_idx').on(t.endpointId, t.id),
    index('webhook_deliveries_due_idx')
      .on(t.nextAttemptAt)
      .where(sql`status in ('pending', 'failed')`),
  ],
);

/** Every try of a delivery: what came back and how long it took. */
export const webhookAttempts = pgTable(
  'webhook_attempts',
  {
    deliveryId: uuid('delivery_id')
      .notNull()
      .references(() => webhookDeliveries.id, { onDelete: 'cascade' }),
    attempt: integer('attempt').notNull(),
    at: timestamp('at', { withTimezone: true }).notNull(),
    responseStatus: integer('response_status'),
    latencyMs: integer('latency_ms').notNull(),
    /** The start of the response body (≤ 500 characters), to see what the receiver said. */
    responseExcerpt: text('response_excerpt'),
    errorCode: text('error_code'),
  },
  (t) => [primaryKey({ columns: [t.deliveryId, t.attempt] })],
);
