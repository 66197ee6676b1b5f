// Cuts the model's streaming text into pieces a TTS engine can start speaking right away. Speaking
// clause by clause (instead of waiting for the whole reply) is what keeps time-to-first-audio low;
// cutting too eagerly makes prosody choppy, so clause commas only cut once a clause has some length.
//
// Every character goes out exactly once and in order (the concatenation of all pieces is the input),
// so what the caller heard can always be rebuilt from the pieces. A decision that needs to see
// further text (is "3." followed by "5"?) waits for the next push; the pieces therefore do not depend
// on how the stream happened to be split.

export interface ClauseChunkerOptions {
  /** A clause boundary (, ; : — – newline) cuts only once the clause has this many characters. */
  minClauseChars?: number;
  /** The same for the first piece: shorter, so audio starts sooner. */
  firstClauseMinChars?: number;
  /** With no boundary in sight, cut at the last whitespace before this many characters. */
  maxClauseChars?: number;
}

export const DEFAULT_MIN_CLAUSE_CHARS = 24;
export const DEFAULT_FIRST_CLAUSE_MIN_CHARS = 10;
export const DEFAULT_MAX_CLAUSE_CHARS = 250;

/** Ends a sentence when followed by whitespace. */
const SENTENCE_END = new Set(['.', '!', '?', '…', '‼', '⁇', '⁈', '⁉', '؟', '।', '॥', '։', '።']);
/** Ends a sentence in scripts written without spaces: cuts even with no whitespace after. */
const SENTENCE_END_NO_SPACE = new Set(['。', '！', '？', '｡']);
const CLAUSE_MARK = new Set([',', ';', ':', '،', '؛']);
const CLAUSE_MARK_NO_SPACE = new Set(['，', '、', '；', '：']);
const DASHES = new Set(['—', '–']);
/** Closing quotes and brackets that belong to the sentence they end. */
const CLOSERS = new Set(['"', "'", '”', '’', '»', '›', ')', ']', '}', '」', '』', '）', '】']);
/** Opening quotes and brackets to skip when reading the word before a dot. */
const OPENERS = /^["'“‘«‹([{「『（【]+/;

/** Words that end in a dot without ending the sentence (compared lower-case, without the dot). */
const ABBREVIATIONS = new Set([
  'mr',
  'mrs',
  'ms',
  'mx',
  'dr',
  'prof',
  'sr',
  'jr',
  'st',
  'mt',
  'capt',
  'lt',
  'sgt',
  'gov',
  'vs',
  'etc',
  'approx',
  'dept',
  'inc',
  'ltd',
  'corp',
  'ave',
  'blvd',
  'rd',
  'hwy',
  'cf',
  'jan',
  'feb',
  'apr',
  'jun',
  'jul',
  'aug',
  'sep',
  'sept',
  'oct',
  'nov',
  'dec',
  'tue',
  'tues',
  'thu',
  'thurs',
  'ph.d',
]);
/** Abbreviations only when a number follows ("No. 5", "Apt. 4"); "No." alone is an answer. */
const NUMBER_ABBREVIATIONS = new Set(['no', 'nos', 'nr', 'vol', 'fig', 'ext', 'apt', 'p', 'pp']);

type Decision =
  /** Cut before index `at` (exclusive end of the piece). */
  | { kind: 'cut'; at: number }
  /** Not a boundary; go on scanning at `next`. */
  | { kind: 'no'; next: number }
  /** Cannot tell before more text arrives. */
  | { kind: 'wait' };

export class ClauseChunker {
  private readonly minClauseChars: number;
  private readonly firstClauseMinChars: number;
  private readonly maxClauseChars: number;
  /** Text not yet handed out; it starts at the current clause's first character. */
  private pending = '';
  /** Where scanning resumes: everything before it was judged "no boundary" already. */
  private scanIndex = 0;
  private emittedAny = false;

  constructor(options: ClauseChunkerOptions = {}) {
    this.minClauseChars = options.minClauseChars ?? DEFAULT_MIN_CLAUSE_CHARS;
    this.firstClauseMinChars = options.firstClauseMinChars ?? DEFAULT_FIRST_CLAUSE_MIN_CHARS;
    this.maxClauseChars = Math.max(2, options.maxClauseChars ?? DEFAULT_MAX_CLAUSE_CHARS);
  }

  /** Adds streamed text; returns the pieces that are complete (possibly none). */
  push(textDelta: string): string[] {
    if (!textDelta) return [];
    this.pending += textDelta;
    const pieces: string[] = [];
    for (;;) {
      const end = this.findCut();
      if (end === null) break;
      pieces.push(this.pending.slice(0, end));
      this.pending = this.pending.slice(end);
      this.scanIndex = 0;
      this.emittedAny = true;
    }
    return pieces;
  }

  /** Hands out whatever is left (the stream ended); null when nothing is. */
  flush(): string | null {
    const rest = this.pending;
    this.pending = '';
    this.scanIndex = 0;
    this.emittedAny = false;
    return rest === '' ? null : rest;
  }

  /** End index of the next piece in `pending`, or null to wait for more text. */
  private findCut(): number | null {
    const text = this.pending;
    let i = this.scanIndex;
    while (i < text.length) {
      if (i >= this.maxClauseChars) return this.forcedCut();
      const decision = this.judge(text, i);
      if (decision.kind === 'wait') {
        this.scanIndex = i;
        return null;
      }
      if (decision.kind === 'cut') return decision.at;
      i = decision.next;
    }
    this.scanIndex = i;
    return i >= this.maxClauseChars ? this.forcedCut() : null;
  }

  /** No boundary within the limit: cut after the last whitespace, or mid-word if there is none. */
  private forcedCut(): number {
    const text = this.pending;
    for (let i = this.maxClauseChars - 1; i > 0; i--) {
      if (isSpace(text[i]) && !isSpace(text[i - 1])) {
        let end = i;
        while (end < this.maxClauseChars && isSpace(text[end])) end++;
        return end;
      }
    }
    // Never split a surrogate pair.
    const code = text.charCodeAt(this.maxClauseChars - 1);
    return code >= 0xd800 && code <= 0xdbff ? this.maxClauseChars - 1 : this.maxClauseChars;
  }

  private minChars(): number {
    return this.emittedAny ? this.minClauseChars : this.firstClauseMinChars;
  }

  private judge(text: string, i: number): Decision {
    const ch = text[i]!;
    if (SENTENCE_END.has(ch) || SENTENCE_END_NO_SPACE.has(ch)) return this.judgeSentenceEnd(text, i);
    if (CLAUSE_MARK.has(ch) || CLAUSE_MARK_NO_SPACE.has(ch)) {
      if (i + 1 < this.minChars()) return { kind: 'no', next: i + 1 };
      return cutAfter(text, i + 1, CLAUSE_MARK_NO_SPACE.has(ch));
    }
    if (DASHES.has(ch) || (ch === '-' && isSpace(text[i - 1]))) return this.judgeDash(text, i);
    if (ch === '\n') {
      if (text.slice(0, i).trim().length < this.minChars()) return { kind: 'no', next: i + 1 };
      return cutAfter(text, i, false);
    }
    return { kind: 'no', next: i + 1 };
  }

  private judgeSentenceEnd(text: string, i: number): Decision {
    let runEnd = i;
    while (
      runEnd < text.length &&
      (SENTENCE_END.has(text[runEnd]!) || SENTENCE_END_NO_SPACE.has(text[runEnd]!))
    ) {
      runEnd++;
    }
    if (runEnd === text.length) return { kind: 'wait' };
    const run = text.slice(i, runEnd);
    const noSpaceScript = SENTENCE_END_NO_SPACE.has(run[run.length - 1]!);
    if (run === '.') {
      const verdict = dotIsNotAnEnd(text, i);
      if (verdict === 'wait') return { kind: 'wait' };
      if (verdict) return { kind: 'no', next: runEnd };
    }
    const isEllipsis = run === '…' || /^\.{2,}$/.test(run) || /^\.*…\.*$/.test(run);
    if (!isEllipsis) return cutAfter(text, runEnd, noSpaceScript, runEnd);
    // An ellipsis trails off mid-sentence ("well… I mean") unless a new sentence starts after it.
    let next = runEnd;
    while (next < text.length && CLOSERS.has(text[next]!)) next++;
    if (next === text.length) return { kind: 'wait' };
    if (!isSpace(text[next])) return { kind: 'no', next: runEnd };
    while (next < text.length && isSpace(text[next])) next++;
    if (next === text.length) return { kind: 'wait' };
    const startsSentence = /\p{Lu}/u.test(text[next]!) && text.slice(next, next + 2) !== 'I ';
    if (!startsSentence || runEnd < this.minChars()) return { kind: 'no', next: runEnd };
    return { kind: 'cut', at: next };
  }

  private judgeDash(text: string, i: number): Decision {
    // "3–5", "10 - 4": a range or arithmetic, not a pause.
    let before = i - 1;
    while (before >= 0 && isSpace(text[before])) before--;
    let after = i + 1;
    while (after < text.length && isSpace(text[after])) after++;
    if (after === text.length) return { kind: 'wait' };
    if (before >= 0 && isDigit(text[before]) && isDigit(text[after])) return { kind: 'no', next: i + 1 };
    if (text[i] === '-' && !isSpace(text[i + 1])) return { kind: 'no', next: i + 1 };
    if (i + 1 < this.minChars()) return { kind: 'no', next: i + 1 };
    return { kind: 'cut', at: after };
  }
}

/** A dot after an abbreviation, an initial or a list number ("1. Apples") does not end a sentence. */
function dotIsNotAnEnd(text: string, dotIndex: number): boolean | 'wait' {
  let start = dotIndex;
  while (start > 0 && !isSpace(text[start - 1])) start--;
  const word = text.slice(start, dotIndex).replace(OPENERS, '');
  if (word === '') return false;
  const lower = word.toLowerCase();
  if (ABBREVIATIONS.has(lower)) return true;
  if (NUMBER_ABBREVIATIONS.has(lower)) {
    let next = dotIndex + 1;
    while (next < text.length && isSpace(text[next])) next++;
    if (next === text.length) return 'wait';
    return isDigit(text[next]);
  }
  // e.g, i.e, U.S, a.m: single letters joined by dots.
  if (/^(?:\p{L}\.)+\p{L}$/u.test(word)) return true;
  // An initial ("J. Smith"), but "I." is the pronoun.
  if (/^\p{Lu}$/u.test(word) && word !== 'I') return true;
  // A list number at the start of a line.
  if (/^\d{1,3}$/.test(word) && (start === 0 || text[start - 1] === '\n')) return true;
  return false;
}

/**
 * Cuts after `index` plus any closing quotes and the whitespace that follows (so the next piece
 * starts with a word). Without whitespace it only cuts in scripts written without spaces.
 */
function cutAfter(text: string, index: number, noSpaceScript: boolean, noNext: number = index): Decision {
  let end = index;
  while (end < text.length && CLOSERS.has(text[end]!)) end++;
  if (end === text.length) return { kind: 'wait' };
  if (!isSpace(text[end])) return noSpaceScript ? { kind: 'cut', at: end } : { kind: 'no', next: noNext };
  while (end < text.length && isSpace(text[end])) end++;
  if (end === text.length) return { kind: 'wait' };
  return { kind: 'cut', at: end };
}

function isSpace(ch: string | undefined): boolean {
  return ch !== undefined && /\s/u.test(ch);
}

function isDigit(ch: string | undefined): boolean {
  return ch !== undefined && ch >= '0' && ch <= '9';
}
