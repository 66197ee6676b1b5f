// The organization's calls matching the call-history filters, in order, for the CSV export: read in
// pages of 500 so a long history never sits in memory at once.
import type { Call, CallFilters } from '@parley/contracts';
import { authorize, type OrgContext } from '../context.js';
import type { CallCursor } from './call-query.js';
import { callPage } from './list-calls.js';

const BATCH = 500;

/** Checks the caller may read calls now (so a refusal is an error answer), then yields them lazily. */
export function exportCalls(ctx: OrgContext, filters: CallFilters): AsyncIterable<Call> {
  authorize(ctx, 'calls:read');
  return (async function* () {
    let cursor: CallCursor | null = null;
    do {
      const page = await callPage(ctx.db, ctx.organizationId, filters, BATCH, cursor);
      yield* page.data;
      cursor = page.next;
    } while (cursor);
  })();
}
