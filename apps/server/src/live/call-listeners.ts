// The runtime's side of supervisor listen: the calls it carries that someone listens to. A call is
// tapped on the first `listen` command and untapped when its last listener stops or stops renewing
// (a lease: a listener's process that died leaves no tap running for the rest of the call). All the
// listeners of a call, on any process, share its one tap and its one relay channel.
import type { FastifyBaseLogger } from 'fastify';
import type { CallSession } from '@parley/voice';
import { NOT_LIVE_REASON, type CallAudioRelay } from './call-audio-relay.js';

/** How long a listener is heard without renewing; API processes renew every LISTEN_RENEW_EVERY_MS. */
export const LISTEN_LEASE_MS = 15_000;
export const LISTEN_RENEW_EVERY_MS = 5_000;

type Tappable = Pick<CallSession, 'tapAudio'>;

interface TappedCall {
  /** Lease expiry (ms, `now()`) by listener id. */
  leases: Map<string, number>;
  sampleRateHz: number;
  stop: () => void;
}

export interface CallListenersOptions {
  relay: CallAudioRelay;
  logger: FastifyBaseLogger;
  leaseMs?: number;
  now?: () => number;
}

export class CallListeners {
  private readonly tapped = new Map<string, TappedCall>();
  /**
   * Listeners of calls not started here yet (claimed, still being set up: the record says in progress
   * a moment before the session exists), by call id: tapped by callStarted, or dropped when they expire.
   */
  private readonly waiting = new Map<string, Map<string, number>>();
  /** Calls this runtime is setting up (between callSettingUp and callStarted/callNotStarted). */
  private readonly settingUp = new Set<string>();
  private readonly leaseMs: number;
  private readonly now: () => number;

  constructor(private readonly options: CallListenersOptions) {
    this.leaseMs = options.leaseMs ?? LISTEN_LEASE_MS;
    this.now = options.now ?? (() => performance.now());
  }

  /** Calls tapped now (for tests and metrics). */
  get tappedCalls(): number {
    return this.tapped.size;
  }

  /** Listeners holding a lease on `callId`'s tap. */
  listenersOf(callId: string): number {
    return this.tapped.get(callId)?.leases.size ?? 0;
  }

  /**
   * `listenerId` listens to `callId` (or renews its lease). `session` is the call's, or undefined when
   * this runtime does not carry it: a call being set up here makes the listener wait for callStarted
   * (until its lease expires); any other call is over (or never was here), and the listener is told at
   * once, so a renewal whose `end` was lost, or a listen racing the call's end, is not kept waiting.
   */
  listen(callId: string, listenerId: string, session: Tappable | undefined): void {
    this.dropExpiredWaits();
    if (!this.tapped.has(callId) && !session) {
      if (!this.settingUp.has(callId)) {
        this.options.relay.publish(callId, { type: 'end', reason: NOT_LIVE_REASON });
        return;
      }
      const leases = this.waiting.get(callId) ?? new Map<string, number>();
      leases.set(listenerId, this.now() + this.leaseMs);
      this.waiting.set(callId, leases);
      return;
    }
    this.join(callId, listenerId, session);
  }

  /** This runtime has claimed `callId` and is setting it up: listeners wait for callStarted. */
  callSettingUp(callId: string): void {
    this.settingUp.add(callId);
  }

  /** The call's session has started here: listeners that asked before it existed now hear it. */
  callStarted(callId: string, session: Tappable): void {
    this.settingUp.delete(callId);
    this.dropExpiredWaits();
    const leases = this.waiting.get(callId);
    if (!leases) return;
    this.waiting.delete(callId);
    for (const listenerId of leases.keys()) this.join(callId, listenerId, session);
  }

  /** The call ended before its session started (setup failed): its waiting listeners are told. */
  callNotStarted(callId: string): void {
    this.settingUp.delete(callId);
    if (this.waiting.delete(callId)) {
      this.options.relay.publish(callId, { type: 'end', reason: NOT_LIVE_REASON });
    }
  }

  private join(callId: string, listenerId: string, session: Tappable | undefined): void {
    const { relay, logger } = this.options;
    let call = this.tapped.get(callId);
    if (!call) {
      if (!session) return;
      const leases = new Map<string, number>();
      const handle = session.tapAudio({
        onChunk: (chunk) => {
          if (!this.renewedAnyone(callId, leases)) return;
          relay.publish(callId, {
            type: 'audio',
            pcm: Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength),
          });
        },
        onEnd: (reason) => {
          if (this.tapped.get(callId) === call) this.tapped.delete(callId);
          relay.publish(callId, { type: 'end', reason });
        },
      });
      call = { leases, sampleRateHz: handle.sampleRateHz, stop: handle.stop };
      this.tapped.set(callId, call);
      logger.info({ callId }, 'call tapped for listening');
    }
    const joining = !call.leases.has(listenerId);
    call.leases.set(listenerId, this.now() + this.leaseMs);
    if (joining) relay.publish(callId, { type: 'start', sampleRateHz: call.sampleRateHz });
  }

  /** `listenerId` stopped listening; the last one to stop untaps the call. */
  stop(callId: string, listenerId: string): void {
    const waiting = this.waiting.get(callId);
    waiting?.delete(listenerId);
    if (waiting?.size === 0) this.waiting.delete(callId);
    const call = this.tapped.get(callId);
    if (!call) return;
    call.leases.delete(listenerId);
    if (call.leases.size === 0) this.untap(callId, call);
  }

  /** Untaps every call (the runtime is closing). */
  close(): void {
    for (const [callId, call] of this.tapped) this.untap(callId, call);
    this.waiting.clear();
    this.settingUp.clear();
  }

  private dropExpiredWaits(): void {
    const now = this.now();
    for (const [callId, leases] of this.waiting) {
      for (const [listenerId, expiresAt] of leases) if (expiresAt <= now) leases.delete(listenerId);
      if (leases.size === 0) this.waiting.delete(callId);
    }
  }

  /** Drops expired leases; false (and the call untapped) once no listener is left. */
  private renewedAnyone(callId: string, leases: Map<string, number>): boolean {
    const now = this.now();
    for (const [listenerId, expiresAt] of leases) if (expiresAt <= now) leases.delete(listenerId);
    if (leases.size > 0) return true;
    const call = this.tapped.get(callId);
    if (call) {
      this.untap(callId, call);
      this.options.logger.info({ callId }, 'call untapped: its listeners stopped renewing');
    }
    return false;
  }

  private untap(callId: string, call: TappedCall): void {
    call.stop();
    if (this.tapped.get(callId) === call) this.tapped.delete(callId);
  }
}
