import { describe, expect, it } from 'vitest';
import { SseParser, type SseEvent } from './sse.js';

function parseInPieces(pieces: (string | Uint8Array)[]): SseEvent[] {
  const parser = new SseParser();
  const events: SseEvent[] = [];
  for (const piece of pieces) events.push(...parser.push(piece));
  events.push(...parser.end());
  return events;
}

const STREAM =
  ': ping\r\n\r\n' +
  'data: {"a":"héllo 👋"}\r\n\r\n' +
  'event: update\nid: 7\ndata: line one\ndata: line two\n\n' +
  'data:no-space\r\r' +
  ':comment only\n\n' +
  'data: [DONE]\n\n';

const EXPECTED: SseEvent[] = [
  { event: 'message', data: '{"a":"héllo 👋"}' },
  { event: 'update', data: 'line one\nline two', id: '7' },
  { event: 'message', data: 'no-space', id: '7' },
  { event: 'message', data: '[DONE]', id: '7' },
];

describe('SseParser', () => {
  it('parses comments, CRLF/CR/LF line ends and multi-line data', () => {
    expect(parseInPieces([STREAM])).toEqual(EXPECTED);
  });

  it('gives the same events whatever byte the stream is split at', () => {
    const bytes = new TextEncoder().encode(STREAM);
    for (let cut = 1; cut < bytes.length; cut++) {
      expect(parseInPieces([bytes.subarray(0, cut), bytes.subarray(cut)])).toEqual(EXPECTED);
    }
  });

  it('survives a stream delivered one byte at a time', () => {
    const bytes = new TextEncoder().encode(STREAM);
    const pieces = Array.from(bytes, (_, i) => bytes.subarray(i, i + 1));
    expect(parseInPieces(pieces)).toEqual(EXPECTED);
  });

  it('delivers a final event that lacks its blank line', () => {
    expect(parseInPieces(['data: x\n\ndata: [DONE]'])).toEqual([
      { event: 'message', data: 'x' },
      { event: 'message', data: '[DONE]' },
    ]);
  });
});
