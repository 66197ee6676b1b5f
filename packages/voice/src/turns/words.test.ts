import { describe, expect, it } from 'vitest';
import { WordRules, normaliseWords } from './words.js';

const rules = new WordRules(['yeah', 'mm-hm', 'uh-huh', 'okay', 'right'], ['stop', 'hold on']);

describe('WordRules', () => {
  it('normalises case and punctuation', () => {
    expect(normaliseWords('Yeah, OK... "Right"!')).toEqual(['yeah', 'ok', 'right']);
  });

  it('treats spellings of a backchannel alike', () => {
    for (const heard of ['mm-hm', 'Mmhm.', 'mm hmm', 'Uh-huh', 'uh huh', 'yeah yeah', 'Okay.']) {
      expect(rules.contentWords(heard), heard).toEqual([]);
    }
  });

  it('keeps content words around backchannels', () => {
    expect(rules.contentWords('yeah but what about Sunday')).toEqual(['but', 'what', 'about', 'sunday']);
  });

  it('finds interrupt phrases as whole words', () => {
    expect(rules.interruptPhraseIn('oh hold on a second')).toBe('hold on');
    expect(rules.interruptPhraseIn('Stop!')).toBe('stop');
    expect(rules.interruptPhraseIn('unstoppable holder')).toBeNull();
  });
});
