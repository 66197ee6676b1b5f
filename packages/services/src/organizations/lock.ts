import { eq, organizations, type Executor } from '@parley/db';
import { ServiceError } from '../errors.js';

/**
 * Locks the organization's row for the rest of the transaction. Every change of roles or membership
 * takes this lock first, so concurrent transfers, role changes and removals run one after the other
 * and each sees the others' result: the organization always has exactly one owner.
 */
export async function lockOrganization(
  tx: Executor,
  organizationId: string,
): Promise<typeof organizations.$inferSelect> {
  const [row] = await tx
    .select()
    .from(organizations)
    .where(eq(organizations.id, organizationId))
    .for('update');
  if (!row) throw new ServiceError('organization_not_found', 'Organization not found');
  return row;
}
