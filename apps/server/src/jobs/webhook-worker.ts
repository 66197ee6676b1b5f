// The customer-webhook delivery worker of `parley serve` (api and all-in-one roles): every second it
// sends the deliveries that are due, one batch at a time. Deliveries live in the database, so a restart
// loses none, and several processes share the queue (claims skip rows another worker holds).
import type { FastifyBaseLogger } from 'fastify';
import type { Database } from '@parley/db';
import { deliverDueWebhooks, type RecordingLinks, type SecretBox } from '@parley/services';
import { describeError } from '../logger.js';

export const WEBHOOK_POLL_INTERVAL_MS = 1_000;

export interface WebhookWorkerOptions {
  db: Database;
  secretBox: SecretBox;
  /** The operator's PARLEY_OUTBOUND_ALLOWED_HOSTS. */
  allowedHosts: readonly string[];
  recordingLinks: RecordingLinks;
  logger: FastifyBaseLogger;
  intervalMs?: number;
}

export interface WebhookWorker {
  /** Stops polling and waits for the batch under way. */
  stop(): Promise<void>;
}

export function startWebhookWorker(options: WebhookWorkerOptions): WebhookWorker {
  const intervalMs = options.intervalMs ?? WEBHOOK_POLL_INTERVAL_MS;
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let running: Promise<void> = Promise.resolve();

  const tick = async () => {
    try {
      await deliverDueWebhooks(options.db, options.secretBox, {
        allowedHosts: options.allowedHosts,
        recordingLinks: options.recordingLinks,
        onError: (error, deliveryId) =>
          options.logger.error({ err: describeError(error), deliveryId }, 'webhook delivery not recorded'),
      });
    } catch (error) {
      // The database may be briefly unreachable: the next tick tries again.
      options.logger.error({ err: describeError(error) }, 'webhook worker pass failed');
    }
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      timer = null;
      running = tick().then(schedule);
    }, intervalMs);
    timer.unref();
  };
  schedule();
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
