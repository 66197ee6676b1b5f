import { describe, expect, it } from 'vitest';
import type { TurnLatency } from './events.js';
import { LatencyTracker } from './latency.js';

function track(marks: (tracker: LatencyTracker) => void): TurnLatency {
  const reports: TurnLatency[] = [];
  const tracker = new LatencyTracker((report) => reports.push(report));
  marks(tracker);
  expect(reports).toHaveLength(1);
  return reports[0]!;
}

describe('LatencyTracker', () => {
  it('reports each stage of a turn once its first audio went out', () => {
    const report = track((tracker) => {
      tracker.markCaller('lastVoiced', 1000);
      tracker.markCaller('finalTranscript', 1180);
      tracker.mark(2, 'committed', 1500);
      tracker.mark(2, 'llmRequest', 1502);
      tracker.mark(2, 'llmFirstToken', 1802);
      tracker.mark(2, 'ttsRequest', 1805);
      tracker.mark(2, 'ttsFirstByte', 1905);
      tracker.mark(2, 'firstAudioOut', 1910);
    });
    expect(report).toEqual({
      turnId: 2,
      endpointingMs: 500,
      sttMs: 180,
      llmFirstTokenMs: 300,
      ttsFirstByteMs: 100,
      orchestratorMs: 10,
      voiceToVoiceMs: 910,
    });
  });

  it('gives no STT figure when the last final came before the caller’s last words', () => {
    const report = track((tracker) => {
      // "Thank you," — final — "that is all I needed." still an interim when the turn commits.
      tracker.markCaller('finalTranscript', 800);
      tracker.markCaller('lastVoiced', 2150);
      tracker.mark(3, 'committed', 2650);
      tracker.mark(3, 'firstAudioOut', 3100);
    });
    expect(report.sttMs).toBeNull();
    expect(report.voiceToVoiceMs).toBe(950);
  });
});
