import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigSchema } from './config.js';

const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it('starts with a quick start of exactly two commands', () => {
    const quickStart = /## Quick start[\s\S]*?```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
    expect(quickStart.trim().split('\n')).toHaveLength(2);
    expect(quickStart).toMatch(/npm install && npm start/);
    expect(quickStart).toMatch(/npm install && npm test/);
  });

  it('documents every configuration variable', () => {
    for (const name of Object.keys(ConfigSchema.shape))
      expect(readme).toMatch(new RegExp(`\\| \`${name}\`\\s+\\|`));
  });
});
