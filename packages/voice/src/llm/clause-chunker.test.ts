import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ClauseChunker, type ClauseChunkerOptions } from './clause-chunker.js';

/** Feeds `deltas` in order and returns every piece, flush included. */
function chunk(deltas: readonly string[], options?: ClauseChunkerOptions): string[] {
  const chunker = new ClauseChunker(options);
  const pieces = deltas.flatMap((delta) => chunker.push(delta));
  const rest = chunker.flush();
  return rest === null ? pieces : [...pieces, rest];
}

/** Splits text into deltas at the given (sorted, deduplicated) cut points. */
function splitAt(text: string, cuts: readonly number[]): string[] {
  const points = [...new Set(cuts.map((cut) => cut % (text.length + 1)))].sort((a, b) => a - b);
  const deltas: string[] = [];
  let from = 0;
  for (const point of points) {
    deltas.push(text.slice(from, point));
    from = point;
  }
  deltas.push(text.slice(from));
  return deltas;
}

/** Token-like text: words, numbers, punctuation, abbreviations, URLs and odd whitespace. */
const speechText = fc
  .array(
    fc.constantFrom(
      'Hello',
      'there',
      ' ',
      '  ',
      '\n',
      '. ',
      '.',
      ', ',
      ',',
      '; ',
      ': ',
      ':',
      '! ',
      '? ',
      '?',
      '…',
      '... ',
      ' — ',
      '–',
      ' - ',
      '"',
      '” ',
      'Mr.',
      'e.g.',
      'U.S.',
      '3.5',
      '1,000',
      '10:30',
      'No.',
      ' 5',
      'www.example.com/a?b=1',
      'jo@example.com',
      '。',
      '你好',
      '，',
      'I',
      'J.',
      'the weather is lovely today',
      '😀',
    ),
    { maxLength: 80 },
  )
  .map((parts) => parts.join(''));

describe('ClauseChunker', () => {
  it('hands out every character exactly once, however the stream is split', () => {
    fc.assert(
      fc.property(speechText, fc.array(fc.nat(), { maxLength: 30 }), (text, cuts) => {
        expect(chunk(splitAt(text, cuts)).join('')).toBe(text);
      }),
      { numRuns: 500 },
    );
  });

  it('cuts at the same places whether the text arrives at once or token by token', () => {
    fc.assert(
      fc.property(speechText, fc.array(fc.nat(), { maxLength: 30 }), (text, cuts) => {
        expect(chunk(splitAt(text, cuts))).toEqual(chunk([text]));
      }),
      { numRuns: 500 },
    );
  });

  it('keeps pieces within the maximum length when the text has spaces', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('word', 'longerword', ' ', 'x'), { maxLength: 200 }), (parts) => {
        const pieces = chunk([parts.join('')], { maxClauseChars: 40 });
        for (const piece of pieces) expect(piece.length).toBeLessThanOrEqual(40);
      }),
    );
  });

  it('speaks sentence by sentence as soon as the next sentence begins', () => {
    const chunker = new ClauseChunker();
    expect(chunker.push('Hello there')).toEqual([]);
    // The dot could still be a decimal point until the next character arrives.
    expect(chunker.push('.')).toEqual([]);
    expect(chunker.push(' How')).toEqual(['Hello there. ']);
    expect(chunker.push(' are you? I am')).toEqual(['How are you? ']);
    expect(chunker.push(' fine!')).toEqual([]);
    expect(chunker.flush()).toBe('I am fine!');
    expect(chunker.flush()).toBeNull();
  });

  it('cuts at commas only once the clause is long enough, and the first clause earlier', () => {
    expect(
      chunk(['Sure, I can help with that, just give me a second, okay, thanks, and then we are done.']),
    ).toEqual([
      'Sure, I can help with that, ',
      'just give me a second, okay, ',
      'thanks, and then we are done.',
    ]);
  });

  it('does not cut inside numbers, times, abbreviations, URLs or e-mail addresses', () => {
    const text =
      'It is 3.5 km, about 1,000 steps, at 10:30 a.m. with Dr. Smith from the U.S. team, e.g. at www.example.com/x?y=1 or jo@example.com. ';
    expect(chunk([text, 'Bye.'], { minClauseChars: 200, firstClauseMinChars: 200 })).toEqual([text, 'Bye.']);
  });

  it('treats "No." as an answer but "No. 5" as a number', () => {
    expect(chunk(['No. I did not. Room No. 5 is free.'])).toEqual([
      'No. ',
      'I did not. ',
      'Room No. 5 is free.',
    ]);
  });

  it('does not cut at an ellipsis that trails off mid-sentence', () => {
    expect(chunk(['Well... let me think about that one for a second. Okay.'])).toEqual([
      'Well... let me think about that one for a second. ',
      'Okay.',
    ]);
    expect(chunk(['Let me think about that for a while… Okay, here it is.'])).toEqual([
      'Let me think about that for a while… ',
      'Okay, here it is.',
    ]);
  });

  it('keeps closing quotes with the sentence they end', () => {
    expect(chunk(['He said "Stop." Then he left.'])).toEqual(['He said "Stop." ', 'Then he left.']);
  });

  it('cuts at dashes but not in ranges', () => {
    expect(chunk(['Pages 3–5 are missing — I checked twice — sorry about that.'])).toEqual([
      'Pages 3–5 are missing — ',
      'I checked twice — sorry about that.',
    ]);
  });

  it('cuts after full-width punctuation in scripts written without spaces', () => {
    expect(chunk(['你好。我很好！谢谢，再见。'])).toEqual(['你好。', '我很好！', '谢谢，再见。']);
  });

  it('keeps list items ("1. Apples") whole', () => {
    expect(chunk(['You need:\n1. Apples\n2. Pears and a few other things\n3. Done'])).toEqual([
      'You need:\n1. Apples\n',
      '2. Pears and a few other things\n',
      '3. Done',
    ]);
  });

  it('cuts an endless clause at the last space before the limit', () => {
    const text = 'word '.repeat(30);
    const pieces = chunk([text], { maxClauseChars: 42 });
    expect(pieces[0]).toBe('word '.repeat(8));
    expect(pieces.join('')).toBe(text);
    // No space at all: a hard cut, never inside a surrogate pair.
    expect(chunk(['😀'.repeat(10)], { maxClauseChars: 5 })).toEqual(['😀😀', '😀😀', '😀😀', '😀😀', '😀😀']);
  });

  it('ignores empty deltas and returns null when nothing is left', () => {
    const chunker = new ClauseChunker();
    expect(chunker.push('')).toEqual([]);
    expect(chunker.flush()).toBeNull();
  });
});
