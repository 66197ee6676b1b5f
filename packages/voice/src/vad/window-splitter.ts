// Cuts PCM16 arriving in frames of any size (20 ms from carriers) into the fixed windows a detector
// analyses (32 ms for Silero at 8 kHz), carrying the partial window between pushes.

export class WindowSplitter {
  readonly windowSamples: number;
  /** The window being filled; handed to `onWindow` when complete, then reused. */
  private readonly window: Int16Array;
  private filled = 0;
  /** Samples pushed since the stream began (the end offset of the latest complete window). */
  samplesPushed = 0;

  constructor(windowSamples: number) {
    this.windowSamples = windowSamples;
    this.window = new Int16Array(windowSamples);
  }

  /** Calls `onWindow` for every window `samples` completes, with its end offset in samples. */
  push(samples: Int16Array, onWindow: (window: Int16Array, endSampleOffset: number) => void): void {
    let offset = 0;
    while (offset < samples.length) {
      const take = Math.min(this.windowSamples - this.filled, samples.length - offset);
      this.window.set(samples.subarray(offset, offset + take), this.filled);
      this.filled += take;
      offset += take;
      this.samplesPushed += take;
      if (this.filled < this.windowSamples) return;
      this.filled = 0;
      onWindow(this.window, this.samplesPushed);
    }
  }

  /** Drops the partial window (offsets keep counting). */
  reset(): void {
    this.filled = 0;
  }
}
