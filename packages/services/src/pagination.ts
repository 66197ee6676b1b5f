import type { Page } from '@parley/contracts';

/**
 * Ids are UUIDv7, so "newest first" is "id descending" and the cursor is the last id seen. Queries
 * fetch `limit + 1` rows; the extra one only tells whether there is a next page.
 */
export function toPage<Row extends { id: string }, Item>(
  rows: Row[],
  limit: number,
  map: (r: Row) => Item,
): Page<Item> {
  const hasMore = rows.length > limit;
  const pageRows = hasMore ? rows.slice(0, limit) : rows;
  return { data: pageRows.map(map), nextCursor: hasMore ? (pageRows.at(-1)?.id ?? null) : null };
}

export const iso = (d: Date) => d.toISOString();
export const isoOrNull = (d: Date | null | undefined) => (d ? d.toISOString() : null);
