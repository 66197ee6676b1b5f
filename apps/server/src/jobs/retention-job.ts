// The retention job of `parley serve` (api and all-in-one roles): shortly after start-up and then once a
// day it purges the recordings and transcripts older than each organization's retention. The purge is
// idempotent and takes a database lock per batch, so several processes running it never collide.
import type { FastifyBaseLogger } from 'fastify';
import type { Database } from '@parley/db';
import { purgeExpiredCallData } from '@parley/services';
import { describeError } from '../logger.js';

export const RETENTION_INTERVAL_MS = 24 * 60 * 60 * 1000;
/** Lets start-up (migrations, listeners) settle before the first pass. */
export const RETENTION_FIRST_RUN_DELAY_MS = 60_000;

export interface RetentionJobOptions {
  db: Database;
  logger: FastifyBaseLogger;
  now?: () => Date;
  firstRunDelayMs?: number;
  intervalMs?: number;
}

export interface RetentionJob {
  /** Stops the timer and waits for the pass under way. */
  stop(): Promise<void>;
}

export function startRetentionJob(options: RetentionJobOptions): RetentionJob {
  const intervalMs = options.intervalMs ?? RETENTION_INTERVAL_MS;
  const now = options.now ?? (() => new Date());
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let running: Promise<void> = Promise.resolve();

  const pass = async () => {
    try {
      const result = await purgeExpiredCallData(options.db, {
        now: now(),
        onFileError: (error, callId) =>
          options.logger.error({ err: describeError(error), callId }, 'recording not removed by retention'),
      });
      for (const purged of result.organizations) {
        if (purged.recordingsPurged + purged.transcriptsPurged + purged.webhookDeliveriesPurged > 0) {
          options.logger.info(purged, 'retention purge');
        }
      }
      if (result.busy) options.logger.info('retention purge left to another process');
    } catch (error) {
      // The database may be briefly unreachable: the next pass tries again.
      options.logger.error({ err: describeError(error) }, 'retention purge failed');
    }
  };
  const schedule = (delayMs: number) => {
    if (stopped) return;
    timer = setTimeout(() => {
      timer = null;
      running = pass().then(() => schedule(intervalMs));
    }, delayMs);
    timer.unref();
  };
  schedule(options.firstRunDelayMs ?? RETENTION_FIRST_RUN_DELAY_MS);
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
