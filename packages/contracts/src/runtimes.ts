import { z } from 'zod';
import { Timestamp } from './common.js';

/**
 * How a runtime stands: `active` takes new calls; `draining` takes none and finishes its calls;
 * `drained` is draining with no call left (safe to stop); `stale` has not heartbeaten within the stale
 * threshold (presumed dead: its calls are closed as `runtime_lost` and it is forgotten).
 */
export const RuntimeState = z.enum(['active', 'draining', 'drained', 'stale']);
export type RuntimeState = z.infer<typeof RuntimeState>;

export const Runtime = z
  .object({
    id: z.string().describe('Chosen by the process at start-up (`<role>-<uuid>`).'),
    role: z.string().describe('`all` (parley serve) or `runtime` (--role runtime).'),
    version: z.string().describe('The Parley version the process runs.'),
    host: z.string().describe('The host name of the machine (or container) it runs on.'),
    mediaUrl: z
      .string()
      .nullable()
      .describe('Where carriers reach its media sockets (PARLEY_RUNTIME_URL); null: the public URL.'),
    state: RuntimeState,
    activeCalls: z.number().int().describe('The calls it carried at its last heartbeat.'),
    startedAt: Timestamp,
    heartbeatAt: Timestamp,
    drainingSince: Timestamp.nullable().describe('When it was asked to drain; null when it takes calls.'),
  })
  .meta({ id: 'Runtime' });
export type Runtime = z.infer<typeof Runtime>;

export const RuntimeList = z.object({ data: z.array(Runtime) }).meta({ id: 'RuntimeList' });
export type RuntimeList = z.infer<typeof RuntimeList>;

export const RuntimeIdParams = z.strictObject({ id: z.string().min(1).max(200) });
export type RuntimeIdParams = z.infer<typeof RuntimeIdParams>;
