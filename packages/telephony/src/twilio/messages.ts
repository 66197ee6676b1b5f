// Twilio Media Streams wire messages (reference/wire-protocols.md §1.2–1.3): parsing what Twilio sends
// and building what we send back. Pure functions, no socket; the transport decides what to do with them.

/** `start.mediaFormat` as Twilio sends it. */
export interface TwilioMediaFormat {
  encoding: string;
  sampleRate: number;
  channels: number;
}

export interface TwilioStart {
  streamSid: string;
  callSid: string;
  accountSid: string;
  /** `<Parameter>` values from the TwiML (the only way to pass data: the stream URL drops query strings). */
  customParameters: Record<string, string>;
  mediaFormat: TwilioMediaFormat;
  tracks: string[];
}

/** A message from Twilio, narrowed to the fields we use. */
export type TwilioInboundMessage =
  | { event: 'connected' }
  | { event: 'start'; sequenceNumber: number | null; start: TwilioStart }
  | {
      event: 'media';
      sequenceNumber: number | null;
      track: string;
      /** Base64 of raw μ-law 8 kHz mono, no header. */
      payload: string;
    }
  | { event: 'mark'; sequenceNumber: number | null; name: string }
  | { event: 'dtmf'; sequenceNumber: number | null; digit: string }
  | { event: 'stop'; sequenceNumber: number | null }
  /** A well-formed message with an event we do not handle. */
  | { event: 'unknown'; name: string };

export type ParseResult = { ok: true; message: TwilioInboundMessage } | { ok: false; reason: string };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function sequenceNumberOf(message: Record<string, unknown>): number | null {
  const raw = message['sequenceNumber'];
  if (typeof raw !== 'string' && typeof raw !== 'number') return null;
  const value = Number(raw);
  return Number.isSafeInteger(value) ? value : null;
}

function stringField(record: Record<string, unknown>, key: string): string | undefined {
  const value = record[key];
  return typeof value === 'string' ? value : undefined;
}

function parseStart(message: Record<string, unknown>): ParseResult {
  const start = message['start'];
  if (!isRecord(start)) return { ok: false, reason: 'start message without a start object' };
  const streamSid = stringField(start, 'streamSid') ?? stringField(message, 'streamSid');
  const callSid = stringField(start, 'callSid');
  const accountSid = stringField(start, 'accountSid');
  if (!streamSid || !callSid || !accountSid) {
    return { ok: false, reason: 'start message lacks streamSid, callSid or accountSid' };
  }
  const format = start['mediaFormat'];
  if (
    !isRecord(format) ||
    typeof format['encoding'] !== 'string' ||
    typeof format['sampleRate'] !== 'number' ||
    typeof format['channels'] !== 'number'
  ) {
    return { ok: false, reason: 'start message has no valid mediaFormat' };
  }
  const customParameters: Record<string, string> = {};
  const rawParameters = start['customParameters'];
  if (isRecord(rawParameters)) {
    for (const [key, value] of Object.entries(rawParameters)) {
      if (typeof value === 'string') customParameters[key] = value;
    }
  }
  const rawTracks = start['tracks'];
  const tracks = Array.isArray(rawTracks)
    ? rawTracks.filter((track): track is string => typeof track === 'string')
    : ['inbound'];
  return {
    ok: true,
    message: {
      event: 'start',
      sequenceNumber: sequenceNumberOf(message),
      start: {
        streamSid,
        callSid,
        accountSid,
        customParameters,
        mediaFormat: {
          encoding: format['encoding'],
          sampleRate: format['sampleRate'],
          channels: format['channels'],
        },
        tracks,
      },
    },
  };
}

/** Parses one text frame from Twilio. Never throws: a bad frame is reported with the reason. */
export function parseTwilioMessage(text: string): ParseResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  if (!isRecord(parsed)) return { ok: false, reason: 'not a JSON object' };
  const event = parsed['event'];
  if (typeof event !== 'string') return { ok: false, reason: 'no event field' };
  const sequenceNumber = sequenceNumberOf(parsed);
  switch (event) {
    case 'connected':
      return { ok: true, message: { event: 'connected' } };
    case 'start':
      return parseStart(parsed);
    case 'media': {
      const media = parsed['media'];
      const payload = isRecord(media) ? stringField(media, 'payload') : undefined;
      if (!isRecord(media) || payload === undefined) return { ok: false, reason: 'media without a payload' };
      // Unidirectional both_tracks streams tag each frame; bidirectional ones carry only inbound.
      const track = stringField(media, 'track') ?? 'inbound';
      return { ok: true, message: { event: 'media', sequenceNumber, track, payload } };
    }
    case 'mark': {
      const mark = parsed['mark'];
      const name = isRecord(mark) ? stringField(mark, 'name') : undefined;
      if (name === undefined) return { ok: false, reason: 'mark without a name' };
      return { ok: true, message: { event: 'mark', sequenceNumber, name } };
    }
    case 'dtmf': {
      const dtmf = parsed['dtmf'];
      const digit = isRecord(dtmf) ? stringField(dtmf, 'digit') : undefined;
      if (!digit) return { ok: false, reason: 'dtmf without a digit' };
      return { ok: true, message: { event: 'dtmf', sequenceNumber, digit } };
    }
    case 'stop':
      return { ok: true, message: { event: 'stop', sequenceNumber } };
    default:
      return { ok: true, message: { event: 'unknown', name: event } };
  }
}

/** Outbound audio: base64 of raw μ-law 8 kHz mono (no WAV header). */
export function mediaMessage(streamSid: string, mulaw: Uint8Array): string {
  const payload = Buffer.from(mulaw.buffer, mulaw.byteOffset, mulaw.byteLength).toString('base64');
  return JSON.stringify({ event: 'media', streamSid, media: { payload } });
}

export function markMessage(streamSid: string, name: string): string {
  return JSON.stringify({ event: 'mark', streamSid, mark: { name } });
}

export function clearMessage(streamSid: string): string {
  return JSON.stringify({ event: 'clear', streamSid });
}
