import { describe, expect, it } from 'vitest';
import { MULAW_8K } from '@parley/voice';
import {
  parsePlivoExtraHeaders,
  parsePlivoMessage,
  plivoAudioFormat,
  plivoCheckpointMessage,
  plivoClearAudioMessage,
  plivoPlayAudioMessage,
  plivoWireFormat,
} from './messages.js';

// The documented start (plivo.com Stream Event Protocol), with our extraHeaders echoed.
const START = {
  event: 'start',
  sequenceNumber: 1,
  start: {
    callId: '12345678-1234-1234-1234-123456789abc',
    streamId: '87654321-4321-4321-4321-cba987654321',
    accountId: 'MAXXXXXXXXXXXXXXXXXX',
    tracks: ['inbound'],
    mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000 },
  },
  extra_headers: 'callId=c1;token=abc123',
};

describe('parsePlivoMessage', () => {
  it('reads the nested ids, media format and echoed extra headers of start', () => {
    expect(parsePlivoMessage(JSON.stringify(START))).toEqual({
      ok: true,
      message: {
        event: 'start',
        sequenceNumber: 1,
        start: {
          callId: START.start.callId,
          streamId: START.start.streamId,
          accountId: 'MAXXXXXXXXXXXXXXXXXX',
          tracks: ['inbound'],
          mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000 },
          extraHeaders: { callId: 'c1', token: 'abc123' },
        },
      },
    });
  });

  it('accepts Vobiz starts without accountId or extra_headers', () => {
    const vobiz = { event: 'start', start: { ...START.start, accountId: undefined } };
    const parsed = parsePlivoMessage(JSON.stringify(vobiz));
    expect(parsed).toMatchObject({ ok: true, message: { start: { accountId: null, extraHeaders: {} } } });
  });

  it('reads media, dtmf, playedStream and clearedAudio', () => {
    const media = {
      event: 'media',
      sequenceNumber: 2,
      streamId: 's1',
      media: { track: 'inbound', timestamp: '1712000000000', chunk: 1, payload: 'AAA=' },
    };
    expect(parsePlivoMessage(JSON.stringify(media))).toEqual({
      ok: true,
      message: { event: 'media', sequenceNumber: 2, track: 'inbound', payload: 'AAA=' },
    });
    const dtmf = { event: 'dtmf', sequenceNumber: 9, streamId: 's1', dtmf: { track: 'inbound', digit: '#' } };
    expect(parsePlivoMessage(JSON.stringify(dtmf))).toEqual({
      ok: true,
      message: { event: 'dtmf', sequenceNumber: 9, digit: '#' },
    });
    // Vobiz's playedStream is just event and name.
    expect(parsePlivoMessage('{"event":"playedStream","name":"utt-3"}')).toEqual({
      ok: true,
      message: { event: 'playedStream', sequenceNumber: null, name: 'utt-3' },
    });
    expect(parsePlivoMessage('{"event":"played","streamId":"s1","name":"utt-4"}')).toEqual({
      ok: true,
      message: { event: 'playedStream', sequenceNumber: null, name: 'utt-4' },
    });
    expect(parsePlivoMessage('{"event":"clearedAudio","sequenceNumber":13,"streamId":"s1"}')).toEqual({
      ok: true,
      message: { event: 'clearedAudio', sequenceNumber: 13 },
    });
  });

  it('reports an unknown but well-formed event as unknown', () => {
    expect(parsePlivoMessage('{"event":"somethingNew"}')).toEqual({
      ok: true,
      message: { event: 'unknown', name: 'somethingNew' },
    });
  });

  it.each([
    ['{"event":', /not JSON/],
    ['[1,2]', /not a JSON object/],
    ['{"sequenceNumber":1}', /no event/],
    ['{"event":"start","start":{"streamId":"s"}}', /callId/],
    [JSON.stringify({ ...START, start: { ...START.start, mediaFormat: undefined } }), /mediaFormat/],
    [
      JSON.stringify({ ...START, start: { ...START.start, mediaFormat: { encoding: 'audio/x-l16' } } }),
      /sampleRate/,
    ],
    ['{"event":"media","media":{"track":"inbound"}}', /payload/],
    ['{"event":"dtmf","dtmf":{"digit":"x"}}', /digit/],
    ['{"event":"playedStream"}', /name/],
  ])('rejects %s with the reason', (text, reason) => {
    const parsed = parsePlivoMessage(text);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.reason).toMatch(reason);
  });
});

describe('parsePlivoExtraHeaders', () => {
  it('splits on the comma of the XML attribute and the semicolon of the echo', () => {
    expect(parsePlivoExtraHeaders('callId=c1,token=t2')).toEqual({ callId: 'c1', token: 't2' });
    expect(parsePlivoExtraHeaders('callId=c1;token=t2')).toEqual({ callId: 'c1', token: 't2' });
    expect(parsePlivoExtraHeaders('')).toEqual({});
    expect(parsePlivoExtraHeaders('=x;novalue;k=')).toEqual({ k: '' });
  });
});

describe('formats', () => {
  it('maps the carrier formats onto ours and back', () => {
    expect(plivoAudioFormat({ encoding: 'audio/x-mulaw', sampleRate: 8000 })).toEqual(MULAW_8K);
    expect(plivoAudioFormat({ encoding: 'audio/x-l16', sampleRate: 16000 })).toEqual({
      encoding: 'pcm16',
      sampleRateHz: 16000,
      channels: 1,
    });
    expect(plivoAudioFormat({ encoding: 'audio/x-mulaw', sampleRate: 16000 })).toBeNull();
    expect(plivoAudioFormat({ encoding: 'audio/ogg', sampleRate: 8000 })).toBeNull();
    expect(plivoWireFormat(MULAW_8K)).toEqual({ contentType: 'audio/x-mulaw', sampleRate: 8000 });
    expect(plivoWireFormat({ encoding: 'pcm16', sampleRateHz: 8000, channels: 1 })).toEqual({
      contentType: 'audio/x-l16',
      sampleRate: 8000,
    });
    expect(() => plivoWireFormat({ encoding: 'alaw', sampleRateHz: 8000, channels: 1 })).toThrow(RangeError);
  });
});

describe('outbound messages', () => {
  it('builds playAudio, checkpoint and clearAudio as documented', () => {
    const audio = new Uint8Array([0xff, 0x7f, 0x00]);
    expect(
      JSON.parse(plivoPlayAudioMessage({ contentType: 'audio/x-mulaw', sampleRate: 8000 }, audio)),
    ).toEqual({
      event: 'playAudio',
      media: {
        contentType: 'audio/x-mulaw',
        sampleRate: 8000,
        payload: Buffer.from(audio).toString('base64'),
      },
    });
    expect(JSON.parse(plivoCheckpointMessage('s1', 'utt-3'))).toEqual({
      event: 'checkpoint',
      streamId: 's1',
      name: 'utt-3',
    });
    expect(JSON.parse(plivoClearAudioMessage('s1'))).toEqual({ event: 'clearAudio', streamId: 's1' });
  });

  it('encodes only the view of a subarray', () => {
    const whole = new Uint8Array([1, 2, 3, 4]);
    const message = JSON.parse(
      plivoPlayAudioMessage({ contentType: 'audio/x-mulaw', sampleRate: 8000 }, whole.subarray(1, 3)),
    );
    expect(Buffer.from(message.media.payload, 'base64')).toEqual(Buffer.from([2, 3]));
  });
});
