import { describe, expect, it } from 'vitest';
import {
  exotelAudioFormat,
  exotelClearMessage,
  exotelMarkMessage,
  exotelMediaMessage,
  parseExotelMessage,
} from './messages.js';

// The documented example messages (developer.exotel.com/docs/agentstream/websocket-protocol).
const START = {
  event: 'start',
  sequence_number: '1',
  stream_sid: 'MZ1',
  start: {
    stream_sid: 'MZ1',
    call_sid: 'CA1',
    account_sid: 'AC1',
    from: '+919876543210',
    to: '+918047491899',
    custom_parameters: { callId: 'c_1', token: 't' },
    media_format: { encoding: 'audio/x-raw', sample_rate: '8000', bit_rate: '16' },
  },
};

describe('parseExotelMessage', () => {
  it('reads a start, turning Exotel’s string numbers into numbers', () => {
    expect(parseExotelMessage(JSON.stringify(START))).toEqual({
      ok: true,
      message: {
        event: 'start',
        sequenceNumber: 1,
        start: {
          streamSid: 'MZ1',
          callSid: 'CA1',
          accountSid: 'AC1',
          from: '+919876543210',
          to: '+918047491899',
          customParameters: { callId: 'c_1', token: 't' },
          mediaFormat: { encoding: 'audio/x-raw', sampleRateHz: 8000, bitRate: 16 },
        },
      },
    });
  });

  it('reads media, dtmf, mark, stop and connected', () => {
    const media = {
      event: 'media',
      sequence_number: '3',
      stream_sid: 'MZ1',
      media: { chunk: '2', timestamp: '200', payload: 'AAA=' },
    };
    expect(parseExotelMessage(JSON.stringify(media))).toEqual({
      ok: true,
      message: { event: 'media', sequenceNumber: 3, chunk: 2, timestampMs: 200, payload: 'AAA=' },
    });
    const dtmf = {
      event: 'dtmf',
      sequence_number: '7',
      stream_sid: 'MZ1',
      dtmf: { digit: '5', duration: '100' },
    };
    expect(parseExotelMessage(JSON.stringify(dtmf))).toEqual({
      ok: true,
      message: { event: 'dtmf', sequenceNumber: 7, digit: '5', durationMs: 100 },
    });
    const mark = { event: 'mark', sequence_number: '15', stream_sid: 'MZ1', mark: { name: 'utt-3' } };
    expect(parseExotelMessage(JSON.stringify(mark))).toEqual({
      ok: true,
      message: { event: 'mark', sequenceNumber: 15, name: 'utt-3' },
    });
    const stop = {
      event: 'stop',
      sequence_number: '99',
      stream_sid: 'MZ1',
      stop: { call_sid: 'CA1', reason: 'callended' },
    };
    expect(parseExotelMessage(JSON.stringify(stop))).toEqual({
      ok: true,
      message: { event: 'stop', sequenceNumber: 99, reason: 'callended' },
    });
    expect(parseExotelMessage('{"event":"connected"}')).toEqual({
      ok: true,
      message: { event: 'connected' },
    });
    expect(parseExotelMessage('{"event":"future"}')).toEqual({
      ok: true,
      message: { event: 'unknown', name: 'future' },
    });
  });

  it.each([
    ['not json', 'not JSON'],
    ['[1]', 'not a JSON object'],
    ['{"stream_sid":"MZ1"}', 'no event field'],
    ['{"event":"start","start":{"stream_sid":"MZ1"}}', 'start message lacks stream_sid or call_sid'],
    ['{"event":"start"}', 'start message without a start object'],
    ['{"event":"media","media":{}}', 'media without a payload'],
    ['{"event":"dtmf","dtmf":{"digit":"x"}}', 'dtmf without a valid digit'],
    ['{"event":"mark","mark":{}}', 'mark without a name'],
  ])('refuses %s (%s)', (text, reason) => {
    expect(parseExotelMessage(text)).toEqual({ ok: false, reason });
  });

  it('keeps a start without media_format, with the format left unknown', () => {
    const { media_format: _ignored, ...rest } = START.start;
    const parsed = parseExotelMessage(JSON.stringify({ ...START, start: rest }));
    expect(parsed.ok && parsed.message.event === 'start' && parsed.message.start.mediaFormat).toBeNull();
  });
});

describe('exotelAudioFormat', () => {
  it('maps the base guide’s raw PCM and the extension’s formats', () => {
    expect(exotelAudioFormat({ encoding: 'audio/x-raw', sampleRateHz: 16000, bitRate: 16 })).toEqual({
      encoding: 'pcm16',
      sampleRateHz: 16000,
      channels: 1,
    });
    expect(
      exotelAudioFormat({ encoding: 'audio/L16;rate=24000', sampleRateHz: null, bitRate: null }),
    ).toEqual({
      encoding: 'pcm16',
      sampleRateHz: 24000,
      channels: 1,
    });
    expect(exotelAudioFormat({ encoding: 'audio/x-mulaw', sampleRateHz: 8000, bitRate: 8 })).toEqual({
      encoding: 'mulaw',
      sampleRateHz: 8000,
      channels: 1,
    });
  });

  it('refuses what Parley cannot play', () => {
    expect(exotelAudioFormat({ encoding: 'audio/x-raw', sampleRateHz: 11025, bitRate: 16 })).toBeNull();
    expect(exotelAudioFormat({ encoding: 'audio/x-raw', sampleRateHz: 8000, bitRate: 8 })).toBeNull();
    expect(exotelAudioFormat({ encoding: 'audio/opus', sampleRateHz: 8000, bitRate: null })).toBeNull();
    expect(exotelAudioFormat({ encoding: 'audio/x-mulaw', sampleRateHz: 16000, bitRate: 8 })).toBeNull();
  });
});

describe('outbound messages', () => {
  it('carry the stream id under both spellings and the audio as base64', () => {
    expect(JSON.parse(exotelMediaMessage('MZ1', new Uint8Array([1, 2, 3])))).toEqual({
      event: 'media',
      stream_sid: 'MZ1',
      streamSid: 'MZ1',
      media: { payload: 'AQID' },
    });
    expect(JSON.parse(exotelMarkMessage('MZ1', 'utt-1'))).toEqual({
      event: 'mark',
      stream_sid: 'MZ1',
      streamSid: 'MZ1',
      mark: { name: 'utt-1' },
    });
    expect(JSON.parse(exotelClearMessage('MZ1'))).toEqual({
      event: 'clear',
      stream_sid: 'MZ1',
      streamSid: 'MZ1',
    });
  });

  it('encodes only the bytes of a view, not its whole buffer', () => {
    const view = new Uint8Array([9, 9, 1, 2, 9]).subarray(2, 4);
    expect(JSON.parse(exotelMediaMessage('MZ1', view)).media.payload).toBe(
      Buffer.from([1, 2]).toString('base64'),
    );
  });
});
