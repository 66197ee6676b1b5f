// A cheap energy detector (a few µs per window): level above an adaptive noise floor. It cannot tell
// speech from a tone or a door slam, so it is the fallback, not the default: Silero is.
import { pcm16Dbfs } from '../audio/pcm16.js';
import type { VadAnalyzer, VadWindow } from '../processors/vad-processor.js';

export interface EnergyVadOptions {
  sampleRateHz: 8000 | 16000;
  /** Window length (default 32 ms, like Silero's at 8 kHz). */
  windowMs?: number;
  /** Level above the noise floor that reads as certain speech. */
  speechAboveFloorDb?: number;
  /** Never treat anything quieter than this as speech. */
  minSpeechDbfs?: number;
}

export class EnergyVad implements VadAnalyzer {
  readonly sampleRateHz: 8000 | 16000;
  private readonly windowSamples: number;
  private readonly speechAboveFloorDb: number;
  private readonly minSpeechDbfs: number;
  private noiseFloorDbfs = -60;
  private carry = new Int16Array(0);
  private samplesSeen = 0;

  constructor(options: EnergyVadOptions) {
    this.sampleRateHz = options.sampleRateHz;
    this.windowSamples = Math.round(((options.windowMs ?? 32) * options.sampleRateHz) / 1000);
    this.speechAboveFloorDb = options.speechAboveFloorDb ?? 15;
    this.minSpeechDbfs = options.minSpeechDbfs ?? -45;
  }

  push(samples: Int16Array): VadWindow[] {
    const all = new Int16Array(this.carry.length + samples.length);
    all.set(this.carry);
    all.set(samples, this.carry.length);
    const out: VadWindow[] = [];
    let offset = 0;
    for (; offset + this.windowSamples <= all.length; offset += this.windowSamples) {
      const level = Math.max(-100, pcm16Dbfs(all.subarray(offset, offset + this.windowSamples)));
      const aboveFloor = level - this.noiseFloorDbfs;
      // The floor follows quiet windows quickly and loud ones slowly, so speech does not raise it.
      const rate = level < this.noiseFloorDbfs ? 0.3 : 0.01;
      this.noiseFloorDbfs += rate * (level - this.noiseFloorDbfs);
      const probability =
        level < this.minSpeechDbfs ? 0 : 1 / (1 + Math.exp(-(aboveFloor - this.speechAboveFloorDb / 2) / 2));
      this.samplesSeen += this.windowSamples;
      out.push({ probability, endMs: (this.samplesSeen * 1000) / this.sampleRateHz });
    }
    this.carry = all.slice(offset);
    return out;
  }

  close(): void {}
}
