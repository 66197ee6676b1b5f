// Test-only: a dialer that places no real calls. It records what it was asked, answers a fresh carrier
// call id, and can be told to refuse (as a carrier's REST API would) to test the failure paths.
import { randomUUID } from 'node:crypto';
import type { CallDialer, DialRequest, HangUpRequest } from '@parley/services';

export class FakeDialer implements CallDialer {
  readonly dials: DialRequest[] = [];
  readonly hangUps: HangUpRequest[] = [];
  /** When set, dial() rejects with this message. */
  dialError: string | null = null;
  /** When set, hangUp() rejects with this message. */
  hangUpError: string | null = null;
  /** When set, dial() awaits it before answering: a test can act while the carrier is being asked. */
  beforeDialAnswers: ((call: DialRequest) => Promise<void>) | null = null;

  async dial(call: DialRequest): Promise<{ carrierCallId: string }> {
    this.dials.push(call);
    await this.beforeDialAnswers?.(call);
    if (this.dialError !== null) throw new Error(this.dialError);
    return { carrierCallId: `fake-${randomUUID()}` };
  }

  async hangUp(call: HangUpRequest): Promise<void> {
    this.hangUps.push(call);
    if (this.hangUpError !== null) throw new Error(this.hangUpError);
  }

  dialOf(callId: string): DialRequest | undefined {
    return this.dials.find((d) => d.callId === callId);
  }
}
