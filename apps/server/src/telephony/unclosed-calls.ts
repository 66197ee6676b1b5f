// Calls that are over but whose record could not be closed (the database was unreachable as they
// ended). The runtime holds each one's closing and tries it again at every heartbeat until it is
// written: a finished call must never stay "in progress" on a runtime that is alive (no sweep would
// close it, as the runtime keeps heartbeating).
import type { FastifyBaseLogger } from 'fastify';
import { describeError } from '../logger.js';

export class UnclosedCalls {
  private readonly closings = new Map<string, () => Promise<void>>();

  constructor(private readonly logger: FastifyBaseLogger) {}

  /**
   * Runs `close` for `callId`; when it fails, keeps it for retry() and rejects with its error. A call
   * whose retry succeeds is forgotten.
   */
  async close(callId: string, close: () => Promise<void>): Promise<void> {
    try {
      await close();
      this.closings.delete(callId);
    } catch (error) {
      this.closings.set(callId, close);
      throw error;
    }
  }

  /** How many calls are waiting for their record to be closed. */
  get size(): number {
    return this.closings.size;
  }

  /** Tries every held closing once more, one after the other; failures stay held and are logged. */
  async retry(): Promise<void> {
    for (const [callId, close] of [...this.closings]) {
      try {
        await this.close(callId, close);
        this.logger.info({ callId }, 'call record closed after earlier failures');
      } catch (error) {
        this.logger.warn({ callId, error: describeError(error) }, 'call record still not closed; retrying');
      }
    }
  }
}
