// What the call list and its CSV export share: the filters as SQL, the sort keys, and the keyset cursor.
// A cursor carries the sort it was made for, the last call's sort key and its id, so a page boundary
// stays exact under every sort even when calls share a key (ties are ordered by id).
import type { CallFilters, CallSort } from '@parley/contracts';
import { and, calls, eq, gte, inArray, lt, or, sql, type Executor } from '@parley/db';
import { ServiceError } from '../errors.js';

type SQL = ReturnType<typeof sql>;

/** Whole seconds from answer to end, like the API's `durationSeconds`; null when either is missing. */
const durationSql = sql`(case when ${calls.endedAt} is null or ${calls.answeredAt} is null then null
  else greatest(0, round(extract(epoch from (${calls.endedAt} - ${calls.answeredAt})))) end)`;

/**
 * The sort keys as integers, exact to the microsecond the database keeps (a JavaScript Date would round
 * creation times to the millisecond and break ties between pages). A call with no duration sorts as -1:
 * shorter than any.
 */
const SORT_KEYS = {
  createdAt: sql<string>`(extract(epoch from ${calls.createdAt}) * 1000000)::bigint`,
  durationSeconds: sql<string>`coalesce(${durationSql}::bigint, -1)`,
};

interface SortPlan {
  key: ReturnType<typeof sql<string>>;
  descending: boolean;
}

export function sortPlan(sort: CallSort): SortPlan {
  const descending = sort.startsWith('-');
  const field = (descending ? sort.slice(1) : sort) as keyof typeof SORT_KEYS;
  return { key: SORT_KEYS[field], descending };
}

/** ORDER BY for a sort: its key, then the id, both in the sort's direction. */
export function orderOf(plan: SortPlan): SQL[] {
  const direction = plan.descending ? sql`desc` : sql`asc`;
  return [sql`${plan.key} ${direction}`, sql`${calls.id} ${direction}`];
}

export interface CallCursor {
  sort: CallSort;
  /** The last call's sort key (an integer, as text). */
  key: string;
  id: string;
}

export function encodeCursor(cursor: CallCursor): string {
  return Buffer.from(JSON.stringify([cursor.sort, cursor.key, cursor.id])).toString('base64url');
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function invalidCursor(message: string): ServiceError {
  return new ServiceError('invalid_request', `Invalid request: querystring.cursor: ${message}`, [
    { path: 'querystring.cursor', message },
  ]);
}

/**
 * Reads a cursor made for `sort`. A bare call id (the cursor of earlier versions) still works: the
 * page goes on after that call of the organization.
 */
export async function decodeCursor(
  db: Executor,
  organizationId: string,
  sort: CallSort,
  raw: string,
): Promise<CallCursor> {
  if (UUID.test(raw)) {
    const [row] = await db
      .select({ key: sortPlan(sort).key })
      .from(calls)
      .where(and(eq(calls.id, raw), eq(calls.organizationId, organizationId)));
    if (!row) throw invalidCursor('names no call of this organization');
    return { sort, key: String(row.key), id: raw.toLowerCase() };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
  } catch {
    throw invalidCursor('is not a cursor this API made');
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 3 ||
    typeof parsed[1] !== 'string' ||
    !/^-?\d{1,20}$/.test(parsed[1]) ||
    typeof parsed[2] !== 'string' ||
    !UUID.test(parsed[2])
  ) {
    throw invalidCursor('is not a cursor this API made');
  }
  if (parsed[0] !== sort) throw invalidCursor(`was made for sort=${String(parsed[0])}, not sort=${sort}`);
  return { sort, key: parsed[1], id: parsed[2] };
}

/** Calls strictly after the cursor in the sort's order. */
export function afterCursor(plan: SortPlan, cursor: CallCursor): SQL {
  const row = sql`(${plan.key}, ${calls.id})`;
  const at = sql`(${cursor.key}::bigint, ${cursor.id}::uuid)`;
  return plan.descending ? sql`${row} < ${at}` : sql`${row} > ${at}`;
}

/** The organization's calls that pass every filter given. */
export function filterCalls(organizationId: string, f: CallFilters): SQL | undefined {
  return and(
    eq(calls.organizationId, organizationId),
    f.status ? inArray(calls.status, f.status) : undefined,
    f.direction ? eq(calls.direction, f.direction) : undefined,
    f.agentId ? eq(calls.agentId, f.agentId) : undefined,
    f.carrier ? eq(calls.transport, f.carrier) : undefined,
    f.number ? or(eq(calls.fromNumber, f.number), eq(calls.toNumber, f.number)) : undefined,
    f.createdAfter ? gte(calls.createdAt, new Date(f.createdAfter)) : undefined,
    f.createdBefore ? lt(calls.createdAt, new Date(f.createdBefore)) : undefined,
    f.endReason ? eq(calls.endReason, f.endReason) : undefined,
    f.minDurationSeconds !== undefined ? sql`${durationSql} >= ${f.minDurationSeconds}` : undefined,
    f.maxDurationSeconds !== undefined ? sql`${durationSql} <= ${f.maxDurationSeconds}` : undefined,
    f.q ? transcriptMatches(organizationId, f.q) : undefined,
  );
}

/** A turn of the call's transcript holds every word of `q` (English stemming: "refunds" finds "refund"). */
function transcriptMatches(organizationId: string, q: string): SQL {
  return sql`exists (select 1 from transcript_turns tt where tt.call_id = ${calls.id}
    and tt.organization_id = ${organizationId}
    and to_tsvector('english', tt.text) @@ plainto_tsquery('english', ${q}))`;
}
