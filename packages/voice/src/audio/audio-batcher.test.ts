import { describe, expect, it } from 'vitest';
import { AudioBatcher } from './audio-batcher.js';

function collect(capacity: number): { batcher: AudioBatcher; sent: number[][] } {
  const sent: number[][] = [];
  const batcher = new AudioBatcher(capacity, (audio) => sent.push([...audio]));
  return { batcher, sent };
}

describe('AudioBatcher', () => {
  it('sends once a batch holds the asked-for bytes, in order', () => {
    const { batcher, sent } = collect(8);
    batcher.add(Uint8Array.of(1, 2), 4);
    batcher.add(Uint8Array.of(3), 4);
    expect(sent).toEqual([]);
    batcher.add(Uint8Array.of(4, 5), 4);
    expect(sent).toEqual([[1, 2, 3, 4, 5]]);
    expect(batcher.pendingBytes).toBe(0);
  });

  it('a smaller batch size sends at once what was gathered for a larger one', () => {
    const { batcher, sent } = collect(8);
    batcher.add(Uint8Array.of(1, 2, 3), 8);
    batcher.add(Uint8Array.of(4), 2);
    expect(sent).toEqual([[1, 2, 3, 4]]);
  });

  it('sends what waits before audio that would not fit, and oversized audio whole', () => {
    const { batcher, sent } = collect(4);
    batcher.add(Uint8Array.of(1, 2, 3), 4);
    batcher.add(Uint8Array.of(4, 5), 4);
    batcher.add(Uint8Array.of(6, 7, 8, 9, 10), 4);
    batcher.flush();
    expect(sent).toEqual([
      [1, 2, 3],
      [4, 5],
      [6, 7, 8, 9, 10],
    ]);
  });

  it('flush sends the partial batch once and nothing when empty', () => {
    const { batcher, sent } = collect(8);
    batcher.flush();
    batcher.add(Uint8Array.of(1), 8);
    batcher.flush();
    batcher.flush();
    expect(sent).toEqual([[1]]);
  });
});
