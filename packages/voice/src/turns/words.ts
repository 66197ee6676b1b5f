// Word-level helpers for turn-taking: what counts as a backchannel ("mm-hm") and what always
// interrupts ("stop"). Matching is on normalised words so punctuation and case from the
// recogniser do not matter.

/** Lower-case words without punctuation; hyphens inside words are kept ("mm-hm"). */
export function normaliseWords(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s'-]+/gu, ' ')
    .split(/\s+/)
    .map((word) => word.replace(/^[-']+|[-']+$/g, ''))
    .filter((word) => word.length > 0);
}

/** Compares backchannel variants loosely: "mm-hm", "mmhm", "mm hmm" and "mhm" are the same sound. */
function squash(word: string): string {
  return word.replace(/[-'\s]/g, '').replace(/(.)\1+/g, '$1');
}

export class WordRules {
  private readonly backchannels: Set<string>;
  private readonly interruptPhrases: string[][];

  constructor(backchannelWords: readonly string[], interruptPhrases: readonly string[]) {
    this.backchannels = new Set(
      backchannelWords.flatMap((entry) => [squash(entry), ...normaliseWords(entry).map(squash)]),
    );
    this.interruptPhrases = interruptPhrases.map(normaliseWords).filter((words) => words.length > 0);
  }

  isBackchannel(word: string): boolean {
    return this.backchannels.has(squash(word));
  }

  /** Words that carry content (not backchannels). */
  contentWords(text: string): string[] {
    const words = normaliseWords(text);
    // "mm hmm" recognised as two words is one backchannel: check adjacent pairs too.
    const content: string[] = [];
    for (let i = 0; i < words.length; i++) {
      const word = words[i]!;
      const pair = i + 1 < words.length ? `${word}${words[i + 1]}` : null;
      if (pair && this.isBackchannel(pair)) {
        i++;
        continue;
      }
      if (!this.isBackchannel(word)) content.push(word);
    }
    return content;
  }

  /** The interrupt phrase found in `text`, if any ("hold on" matches "oh hold on a second"). */
  interruptPhraseIn(text: string): string | null {
    const words = normaliseWords(text);
    for (const phrase of this.interruptPhrases) {
      for (let start = 0; start + phrase.length <= words.length; start++) {
        if (phrase.every((word, offset) => words[start + offset] === word)) return phrase.join(' ');
      }
    }
    return null;
  }
}
