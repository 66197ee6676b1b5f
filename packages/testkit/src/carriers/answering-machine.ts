// An answering machine at the far end of a simulated outbound call: it plays its greeting into the
// media stream, beeps (the moment the carrier's detection reports the greeting over), and from then on
// records what it hears. The carrier simulators drive it and send their own AMD callbacks around it.
import { loadFixture, type FixtureName } from '../fixtures.js';

/** 8 kHz: every carrier line here hears the agent as PCM16 8 kHz. */
const SAMPLES_PER_MS = 8;

/** The media side of a simulated call a machine can answer (Twilio, Telnyx, Plivo, Vobiz callers). */
export interface MachineLine {
  /** Clock time that sample 0 of `heardAudio()` stands for. */
  readonly startSentAtMs: number;
  play(audio: Int16Array | FixtureName): Promise<{ startedAtMs: number; endedAtMs: number }>;
  /** The agent's audio as heard on the line so far, PCM16 8 kHz from the stream's start. */
  heardAudio(): Int16Array;
  /** Who ended the call, null while it lasts: a play it cut short was rejected for that reason. */
  readonly closedBy: 'caller' | 'server' | null;
}

export interface AnsweringMachineOptions {
  /** The greeting the machine plays before its beep. Default the `opening-hours` fixture (speech). */
  greeting?: Int16Array | FixtureName;
}

/** A machine that has answered: when it beeped, and what it recorded after. */
export class AnsweringMachine {
  /** Clock time of the beep: the end of the greeting. Null until the greeting has played. */
  beepAtMs: number | null = null;
  /** The call was hung up while the greeting played: the machine never beeped. */
  hungUpDuringGreeting = false;

  constructor(private readonly line: MachineLine) {}

  /**
   * Plays the greeting; resolves at the beep (the greeting's last frame sent) with its time, or with
   * null when the call was hung up before the greeting ended. Rejects when the line failed the play
   * while the call went on.
   */
  async playGreeting(options: AnsweringMachineOptions = {}): Promise<number | null> {
    const greeting = options.greeting ?? loadFixture('opening-hours').samples;
    try {
      const { endedAtMs } = await this.line.play(greeting);
      this.beepAtMs = endedAtMs;
      return endedAtMs;
    } catch (error) {
      // The lines reject a play the hang-up cut short; a play failing on a live line is the
      // simulation's own failure, and the test must see it rather than a machine hung up on.
      if (this.line.closedBy === null) throw error;
      this.hungUpDuringGreeting = true;
      return null;
    }
  }

  /** What the machine recorded: the agent's audio heard after the beep (empty before it). */
  recorded(): Int16Array {
    if (this.beepAtMs === null) return new Int16Array(0);
    const from = Math.max(0, Math.round((this.beepAtMs - this.line.startSentAtMs) * SAMPLES_PER_MS));
    return this.line.heardAudio().subarray(from);
  }

  /** Milliseconds of sound in the recording: 20 ms frames louder than `thresholdDbfs`. */
  recordedSpeechMs(thresholdDbfs = -50): number {
    const samples = this.recorded();
    const frame = 20 * SAMPLES_PER_MS;
    let loudFrames = 0;
    for (let offset = 0; offset + frame <= samples.length; offset += frame) {
      let energy = 0;
      for (let i = offset; i < offset + frame; i++) energy += samples[i]! * samples[i]!;
      const rms = Math.sqrt(energy / frame) / 32768;
      if (rms > 0 && 20 * Math.log10(rms) > thresholdDbfs) loudFrames++;
    }
    return loudFrames * 20;
  }
}
