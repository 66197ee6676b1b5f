// Vobiz audio streaming as a CallTransport. Vobiz clones Plivo's stream protocol (wire-protocols.md
// §3.2), so the transport is plivo/media.ts with Vobiz's profile: it also serves L16 at 8, 16 and
// 24 kHz, whose inbound payloads arrive big-endian (network order) while `playAudio` takes
// little-endian; the transport swaps inbound L16 so `inputFormat` (PCM16 little-endian) is honest.
// μ-law 8 kHz, which has no byte order, is what our answer documents ask for.
import { acceptPlivoStream } from '../plivo/media.js';
import type { PlivoAccepted, PlivoAcceptOptions, PlivoStreamProfile } from '../plivo/media.js';
import type { WebSocket } from 'ws';

export const VOBIZ_STREAM_PROFILE: PlivoStreamProfile = {
  carrier: 'vobiz',
  label: 'Vobiz',
  acceptsFormat: (format) =>
    (format.encoding === 'mulaw' && format.sampleRateHz === 8000) ||
    (format.encoding === 'pcm16' && [8000, 16000, 24000].includes(format.sampleRateHz)),
  inboundPcm16BigEndian: true,
  formatHint: 'use contentType audio/x-mulaw;rate=8000 or audio/x-l16;rate=8000|16000|24000',
};

/** Vobiz's media socket: same transport class as Plivo's, carrier `vobiz`. */
export const VobizMediaTransport = {
  accept(socket: WebSocket, options: PlivoAcceptOptions): Promise<PlivoAccepted> {
    return acceptPlivoStream(socket, options, VOBIZ_STREAM_PROFILE);
  },
};
