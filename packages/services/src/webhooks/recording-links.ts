// Links to a call's recording that work without an API key, for the end-of-call webhook: an HMAC under
// a key derived from the instance secret (never the secret itself) over the call id and the expiry. The
// query's `channels` is left unsigned: stereo or mixed, it is the same recording the link grants.
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

/** A link is valid for a day after it was made (each delivery attempt makes a fresh one). */
export const RECORDING_LINK_TTL_MS = 24 * 3_600_000;

export class RecordingLinks {
  private readonly key: Buffer;

  /** `baseUrl` is read at each use: the public URL is known only once the server listens. */
  constructor(
    instanceSecret: string,
    private readonly baseUrl: () => string,
  ) {
    this.key = Buffer.from(hkdfSync('sha256', instanceSecret, 'parley', 'parley recording links v1', 32));
  }

  private mac(callId: string, expires: number): string {
    return createHmac('sha256', this.key).update(`${callId}.${expires}`).digest('hex');
  }

  /** `<public URL>/api/v1/recordings/<callId>?expires=<unix seconds>&signature=<hex>`. */
  urlFor(callId: string, now: Date): string {
    const expires = Math.floor((now.getTime() + RECORDING_LINK_TTL_MS) / 1000);
    const url = new URL(`/api/v1/recordings/${encodeURIComponent(callId)}`, this.baseUrl());
    url.searchParams.set('expires', String(expires));
    url.searchParams.set('signature', this.mac(callId, expires));
    return url.toString();
  }

  /** Whether a link's query is genuine for this call and not expired. */
  verify(callId: string, expires: unknown, signature: unknown, now: Date): boolean {
    if (typeof expires !== 'string' || !/^\d{1,12}$/.test(expires)) return false;
    if (typeof signature !== 'string' || !/^[0-9a-f]{64}$/.test(signature)) return false;
    const expected = Buffer.from(this.mac(callId, Number(expires)), 'hex');
    if (!timingSafeEqual(Buffer.from(signature, 'hex'), expected)) return false;
    return Number(expires) * 1000 >= now.getTime();
  }
}

/** The event as sent: an end-of-call report gets a fresh link to its recording, if there is one. */
export function withRecordingLink(
  payload: Record<string, unknown>,
  links: RecordingLinks | undefined,
  now: Date,
): Record<string, unknown> {
  const data = payload.data as Record<string, unknown> | undefined;
  const recording = data?.recording as Record<string, unknown> | null | undefined;
  if (payload.type !== 'call.ended' || !links || !recording || typeof data?.callId !== 'string')
    return payload;
  return {
    ...payload,
    data: { ...data, recording: { ...recording, url: links.urlFor(data.callId, now) } },
  };
}
