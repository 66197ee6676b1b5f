export * as schema from './schema.js';
export * from './schema.js';
export * from './connection.js';
export * from './migrate.js';
export { uuidv7 } from './ids.js';
export { DirectoryLockedError } from './directory-lock.js';
export {
  and,
  asc,
  desc,
  eq,
  gt,
  gte,
  inArray,
  isNull,
  isNotNull,
  lt,
  lte,
  ne,
  or,
  sql,
  count,
} from 'drizzle-orm';
export { queryRows } from './query.js';
