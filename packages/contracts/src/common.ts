import { z } from 'zod';

/** Every object id is a UUID (v7, so ids sort by creation time and double as pagination cursors). */
export const Id = z.uuid({ message: 'must be a UUID' });

export const Timestamp = z.iso.datetime({ offset: true });

export const PageQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(25).describe('How many items to return (1–100).'),
  cursor: Id.optional().describe('The `nextCursor` of the previous page.'),
});
export type PageQuery = z.infer<typeof PageQuery>;

export function pageOf<T extends z.ZodType>(item: T) {
  return z.object({
    data: z.array(item),
    nextCursor: Id.nullable().describe('Pass as `cursor` to get the next page; null on the last page.'),
  });
}
export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

export const IdParams = z.strictObject({ id: Id });

/** A short human name: trimmed, 1–200 characters. */
export const Name = z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters');

export const Email = z
  .email({ message: 'must be an email address' })
  .max(320)
  .transform((e) => e.toLowerCase());

export const Password = z
  .string()
  .min(10, 'must be at least 10 characters')
  .max(256, 'must be at most 256 characters');
