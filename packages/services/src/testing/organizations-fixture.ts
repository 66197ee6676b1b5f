// Test-only: a fresh test database (PGlite or PostgreSQL, per the vitest project) with a system
// actor, on which a test creates the organizations it needs through the operator verb.
// Kept under src/testing so the package build and its public barrel leave it out.
import type { Database } from '@parley/db';
import { createTestDatabase } from '@parley/db/testing';
import { createUserAsOperator, operatorOrgContext } from '../admin/system.js';
import type { OrgContext, ServiceContext } from '../context.js';
import { SecretBox } from '../secret-box.js';

export interface OrganizationsFixture {
  db: Database;
  /** A system actor's context on the database. */
  system: ServiceContext;
  /** Creates organization `name`, owned by owner@<name>.test; its owner's context. */
  organization(name: string): Promise<OrgContext>;
  /** Closes (and for PostgreSQL drops) the database. */
  close(): Promise<void>;
}

export async function createOrganizationsFixture(): Promise<OrganizationsFixture> {
  const database = await createTestDatabase();
  const system: ServiceContext = {
    db: database.db,
    secretBox: new SecretBox('a test secret key that is long enough to be accepted'),
    publicUrl: 'http://parley.test',
    signupEnabled: true,
    sessionTtlMs: 60_000,
    actor: { type: 'system', label: 'test' },
    clientIp: null,
  };
  return {
    db: database.db,
    system,
    async organization(name) {
      const { organizationId } = await createUserAsOperator(system, {
        email: `owner@${name.toLowerCase()}.test`,
        password: 'correct horse battery',
        name: 'Owner',
        organizationName: name,
        isInstanceAdmin: false,
      });
      return operatorOrgContext(system, organizationId);
    },
    close: () => database.close(),
  };
}
