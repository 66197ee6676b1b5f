import { describe, expect, it } from 'vitest';
import {
  decodeTelnyxClientState,
  encodeTelnyxClientState,
  parseTelnyxMessage,
  swapPcm16ByteOrder,
  telnyxAudioFormat,
  telnyxClearMessage,
  telnyxMarkMessage,
  telnyxMediaMessage,
} from './messages.js';

// Shaped as the examples of Telnyx's media streaming AsyncAPI page.
const START = {
  event: 'start',
  sequence_number: '1',
  stream_id: '32DE0DEA-53CB-4B21-89A4-9E1819C043BC',
  start: {
    user_id: '3E6F995F-85F7-4705-9741-53B116D28237',
    call_control_id: 'v3:abc',
    call_session_id: 'ff55a038-6f5d-11ef-9692-02420aeffb1f',
    from: '+13122010094',
    to: '+13122123456',
    client_state: 'aGF2ZSBhIG5pY2UgZGF5ID1d',
    custom_parameters: { customer_id: 'customer_123' },
    media_format: { encoding: 'PCMU', sample_rate: 8000, channels: 1 },
  },
};

describe('parseTelnyxMessage', () => {
  it('reads a start with the stream id from the top level', () => {
    expect(parseTelnyxMessage(JSON.stringify(START))).toEqual({
      ok: true,
      message: {
        event: 'start',
        sequenceNumber: 1,
        start: {
          streamId: '32DE0DEA-53CB-4B21-89A4-9E1819C043BC',
          callControlId: 'v3:abc',
          callSessionId: 'ff55a038-6f5d-11ef-9692-02420aeffb1f',
          from: '+13122010094',
          to: '+13122123456',
          clientState: 'aGF2ZSBhIG5pY2UgZGF5ID1d',
          customParameters: { customer_id: 'customer_123' },
          mediaFormat: { encoding: 'PCMU', sampleRateHz: 8000, channels: 1 },
        },
      },
    });
  });

  it('reads connected (with the streaming auth token), media, dtmf, mark, error and stop', () => {
    expect(parseTelnyxMessage('{"event":"connected","version":"1.0.0"}')).toEqual({
      ok: true,
      message: { event: 'connected', authToken: null },
    });
    expect(
      parseTelnyxMessage('{"event":"connected","version":"1.0.0","x-telnyx-streaming-auth-token":"tok"}'),
    ).toEqual({ ok: true, message: { event: 'connected', authToken: 'tok' } });
    const media = {
      event: 'media',
      sequence_number: '4',
      stream_id: 's',
      media: { track: 'inbound', chunk: '2', timestamp: '5', payload: 'AAA=' },
    };
    expect(parseTelnyxMessage(JSON.stringify(media))).toEqual({
      ok: true,
      message: { event: 'media', sequenceNumber: 4, track: 'inbound', chunk: 2, payload: 'AAA=' },
    });
    expect(parseTelnyxMessage('{"event":"dtmf","sequence_number":"5","dtmf":{"digit":"#"}}')).toEqual({
      ok: true,
      message: { event: 'dtmf', sequenceNumber: 5, digit: '#' },
    });
    expect(parseTelnyxMessage('{"event":"mark","sequence_number":"6","mark":{"name":"m"}}')).toEqual({
      ok: true,
      message: { event: 'mark', sequenceNumber: 6, name: 'm' },
    });
    expect(parseTelnyxMessage('{"event":"error","payload":{"code":100002,"title":"unknown_error"}}')).toEqual(
      {
        ok: true,
        message: { event: 'error', sequenceNumber: null, code: '100002', title: 'unknown_error' },
      },
    );
    expect(parseTelnyxMessage('{"event":"stop","sequence_number":"9","stop":{}}')).toEqual({
      ok: true,
      message: { event: 'stop', sequenceNumber: 9 },
    });
  });

  it.each([
    ['nope', 'not JSON'],
    ['"x"', 'not a JSON object'],
    ['{}', 'no event field'],
    ['{"event":"start"}', 'start message without a start object'],
    [
      '{"event":"start","stream_id":"s","start":{"media_format":{}}}',
      'start message lacks stream_id or call_control_id',
    ],
    [
      '{"event":"start","stream_id":"s","start":{"call_control_id":"c"}}',
      'start message has no valid media_format',
    ],
    ['{"event":"media","media":{"track":"inbound"}}', 'media without a payload'],
    ['{"event":"dtmf","dtmf":{}}', 'dtmf without a valid digit'],
    ['{"event":"mark"}', 'mark without a name'],
  ])('refuses %s (%s)', (text, reason) => {
    expect(parseTelnyxMessage(text)).toEqual({ ok: false, reason });
  });
});

describe('telnyxAudioFormat', () => {
  it('carries G.711 at 8 kHz and L16 at any rate Parley knows', () => {
    expect(telnyxAudioFormat({ encoding: 'PCMU', sampleRateHz: 8000, channels: 1 })?.encoding).toBe('mulaw');
    expect(telnyxAudioFormat({ encoding: 'PCMA', sampleRateHz: 8000, channels: 1 })?.encoding).toBe('alaw');
    expect(telnyxAudioFormat({ encoding: 'L16', sampleRateHz: 16000, channels: 1 })).toEqual({
      encoding: 'pcm16',
      sampleRateHz: 16000,
      channels: 1,
    });
  });

  it('refuses codecs without a decoder here, odd rates and stereo', () => {
    expect(telnyxAudioFormat({ encoding: 'OPUS', sampleRateHz: 48000, channels: 1 })).toBeNull();
    expect(telnyxAudioFormat({ encoding: 'G722', sampleRateHz: 16000, channels: 1 })).toBeNull();
    expect(telnyxAudioFormat({ encoding: 'L16', sampleRateHz: 22050, channels: 1 })).toBeNull();
    expect(telnyxAudioFormat({ encoding: 'PCMU', sampleRateHz: 8000, channels: 2 })).toBeNull();
  });
});

describe('helpers', () => {
  it('swaps L16 byte order both ways and drops a stray odd byte', () => {
    expect([...swapPcm16ByteOrder(new Uint8Array([1, 2, 3, 4, 5]))]).toEqual([2, 1, 4, 3]);
  });

  it('round-trips per-call parameters through client_state, and ignores foreign state', () => {
    const state = encodeTelnyxClientState({ callId: 'c_1', token: 'a b&c' });
    expect(decodeTelnyxClientState(state)).toEqual({ callId: 'c_1', token: 'a b&c' });
    expect(decodeTelnyxClientState(Buffer.from('have a nice day =]').toString('base64'))).toEqual({});
    expect(decodeTelnyxClientState(null)).toEqual({});
  });

  it('builds the rtp-mode outbound messages', () => {
    expect(JSON.parse(telnyxMediaMessage(new Uint8Array([255, 255])))).toEqual({
      event: 'media',
      media: { payload: '//8=' },
    });
    expect(JSON.parse(telnyxMarkMessage('m1'))).toEqual({ event: 'mark', mark: { name: 'm1' } });
    expect(JSON.parse(telnyxClearMessage())).toEqual({ event: 'clear' });
  });
});
