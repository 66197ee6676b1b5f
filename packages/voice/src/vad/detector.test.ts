import { describe, expect, it } from 'vitest';
import { VadSpeechDetector, type VadDetectorEvent, type VadSpeechEvent } from './detector.js';

/** Windows of 32 ms with the given probabilities, ending at 32, 64, 96, ... ms. */
function windows(probabilities: number[], windowMs = 32) {
  return probabilities.map((probability, i) => ({ probability, endMs: (i + 1) * windowMs }));
}

function speechEvents(events: VadDetectorEvent[]): VadSpeechEvent[] {
  return events.filter((event): event is VadSpeechEvent => event.type !== 'window');
}

describe('VadSpeechDetector', () => {
  it('starts after minSpeechMs of voiced windows, dated from the first one', () => {
    const detector = new VadSpeechDetector({ minSpeechMs: 64 });
    const events = detector.pushAll(windows([0.1, 0.1, 0.6, 0.9, 0.95, 0.9]));
    expect(speechEvents(events)).toEqual([
      { type: 'speech_start', atMs: 64, decidedAtMs: 128, probability: 0.9 },
    ]);
    expect(detector.speaking).toBe(true);
  });

  it('ignores a voiced blip shorter than minSpeechMs', () => {
    const detector = new VadSpeechDetector({ minSpeechMs: 64 });
    const events = detector.pushAll(windows([0.1, 0.9, 0.2, 0.8, 0.3, 0.7, 0.1]));
    expect(speechEvents(events)).toEqual([]);
    expect(detector.speaking).toBe(false);
  });

  it('needs the start threshold to begin (a run between the thresholds does not start speech)', () => {
    const detector = new VadSpeechDetector();
    expect(speechEvents(detector.pushAll(windows([0.45, 0.45, 0.45, 0.45, 0.45])))).toEqual([]);
  });

  it('holds speech through windows between the thresholds and short dips (hysteresis)', () => {
    const detector = new VadSpeechDetector({ minSpeechMs: 64, minSilenceMs: 100 });
    // Voiced, then soft (0.4 ≥ stop), then a 96 ms dip (< 100 ms), then voiced again.
    const events = detector.pushAll(windows([0.9, 0.9, 0.4, 0.4, 0.1, 0.1, 0.1, 0.8, 0.9]));
    expect(speechEvents(events).map((e) => e.type)).toEqual(['speech_start']);
  });

  it('stops after minSilenceMs below the stop threshold, reporting the last voiced window', () => {
    const detector = new VadSpeechDetector({ minSpeechMs: 64, minSilenceMs: 100 });
    // Windows end at 32..: speech 0–128 ms, last voiced (0.4) ends at 160, silence confirmed at 288.
    const events = detector.pushAll(windows([0.9, 0.9, 0.9, 0.9, 0.4, 0.2, 0.2, 0.2, 0.2, 0.2]));
    expect(speechEvents(events)).toEqual([
      { type: 'speech_start', atMs: 0, decidedAtMs: 64, probability: 0.9 },
      { type: 'speech_stop', atMs: 288, lastVoicedAtMs: 160, speechDurationMs: 160 },
    ]);
    expect(detector.speaking).toBe(false);
  });

  it('reports every window with the decision that applied to it', () => {
    const detector = new VadSpeechDetector({ minSpeechMs: 32, minSilenceMs: 32 });
    const decisions = detector
      .pushAll(windows([0.4, 0.6, 0.4, 0.2]))
      .filter((event) => event.type === 'window');
    expect(decisions).toEqual([
      { type: 'window', probability: 0.4, atMs: 32, voiced: false, speaking: false },
      { type: 'window', probability: 0.6, atMs: 64, voiced: true, speaking: true },
      { type: 'window', probability: 0.4, atMs: 96, voiced: true, speaking: true },
      { type: 'window', probability: 0.2, atMs: 128, voiced: false, speaking: false },
    ]);
  });

  it('emits a speech event right after the window that confirmed it', () => {
    const detector = new VadSpeechDetector({ minSpeechMs: 0 });
    expect(detector.push({ probability: 0.7, endMs: 32 }).map((e) => e.type)).toEqual([
      'window',
      'speech_start',
    ]);
  });

  it('measures durations from window times, whatever the window length', () => {
    const detector = new VadSpeechDetector({ minSpeechMs: 100, minSilenceMs: 100, windowMs: 20 });
    const events = detector.pushAll(windows([0.9, 0.9, 0.9, 0.9, 0.9, 0.1, 0.1, 0.1, 0.1, 0.1], 20));
    expect(speechEvents(events)).toEqual([
      { type: 'speech_start', atMs: 0, decidedAtMs: 100, probability: 0.9 },
      { type: 'speech_stop', atMs: 200, lastVoicedAtMs: 100, speechDurationMs: 100 },
    ]);
  });

  it('finds two segments separated by a pause, and none after reset()', () => {
    const detector = new VadSpeechDetector();
    const speech = [0.9, 0.9, 0.9];
    const pause = [0.05, 0.05, 0.05, 0.05];
    const events = speechEvents(detector.pushAll(windows([...speech, ...pause, ...speech, ...pause])));
    expect(events.map((e) => `${e.type}@${e.atMs}`)).toEqual([
      'speech_start@0',
      'speech_stop@224',
      'speech_start@224',
      'speech_stop@448',
    ]);
    detector.pushAll(windows([0.9, 0.9, 0.9]));
    detector.reset();
    expect(detector.speaking).toBe(false);
  });

  it('refuses a stop threshold above the start threshold', () => {
    expect(() => new VadSpeechDetector({ startThreshold: 0.3, stopThreshold: 0.5 })).toThrow(RangeError);
  });
});
