// Test-only: what the calls services' db tests start from, on a fresh test database (PGlite or
// PostgreSQL, per the vitest project): an organization with a published agent, and call rows inserted
// directly so a test can put a call in exactly the state it is about.
// Kept under src/testing so the package build and its public barrel leave it out.
import { agents, agentVersions, calls, phoneNumbers, type Database } from '@parley/db';
import { createTestDatabase } from '@parley/db/testing';
import { createUserAsOperator } from '../admin/system.js';
import type { ServiceContext } from '../context.js';
import { SecretBox } from '../secret-box.js';

/** Columns of a call row a test sets itself. */
export type CallFields = Partial<typeof calls.$inferInsert>;

export interface CallsFixture {
  db: Database;
  /** A system actor's context on the database. */
  system: ServiceContext;
  organizationId: string;
  /** Published at version 1 with the system prompt 'Be kind.'. */
  agentId: string;
  /** Inserts a ringing outbound Twilio call of the agent (version 1), changed by `fields`; its id. */
  newCall(fields?: CallFields): Promise<string>;
  /** Inserts the organization's Twilio number +15005550006, changed by `fields`; its id. */
  newPhoneNumber(fields?: Partial<typeof phoneNumbers.$inferInsert>): Promise<string>;
  /** Closes (and for PostgreSQL drops) the database. */
  close(): Promise<void>;
}

export async function createCallsFixture(options: { actorLabel?: string } = {}): Promise<CallsFixture> {
  const database = await createTestDatabase();
  const db = database.db;
  const system: ServiceContext = {
    db,
    secretBox: new SecretBox('a test instance secret that is long enough'),
    publicUrl: 'http://parley.test',
    signupEnabled: true,
    sessionTtlMs: 60_000,
    actor: { type: 'system', label: options.actorLabel ?? 'test' },
    clientIp: null,
  };
  const { organizationId } = await createUserAsOperator(system, {
    email: 'owner@example.test',
    password: 'correct horse battery',
    name: 'Owner',
    organizationName: 'Acme',
    isInstanceAdmin: false,
  });
  const [agent] = await db
    .insert(agents)
    .values({ organizationId, name: 'Reception', draft: {}, publishedVersion: 1 })
    .returning({ id: agents.id });
  const agentId = agent!.id;
  await db
    .insert(agentVersions)
    .values({ organizationId, agentId, version: 1, config: { systemPrompt: 'Be kind.' } });

  return {
    db,
    system,
    organizationId,
    agentId,
    newCall: async (fields = {}) => {
      const [row] = await db
        .insert(calls)
        .values({
          organizationId,
          agentId,
          agentVersion: 1,
          direction: 'outbound',
          transport: 'twilio',
          status: 'ringing',
          ...fields,
        })
        .returning({ id: calls.id });
      return row!.id;
    },
    newPhoneNumber: async (fields = {}) => {
      const [row] = await db
        .insert(phoneNumbers)
        .values({ organizationId, carrier: 'twilio', number: '+15005550006', name: 'Main', ...fields })
        .returning({ id: phoneNumbers.id });
      return row!.id;
    },
    close: () => database.close(),
  };
}
