// Gathers small audio frames into larger messages. Every message to a streaming recogniser is a
// socket write, and at one per 20 ms telephone frame those writes are what a server carrying hundreds
// of calls spends most on; the caller's silence needs no 20 ms delivery. One buffer is reused, so
// `send` must copy what it keeps (recogniser streams do: the caller may reuse its buffer).

export class AudioBatcher {
  private readonly buffer: Uint8Array;
  private fill = 0;

  /** @param capacityBytes the largest batch that will be asked for. */
  constructor(
    capacityBytes: number,
    private readonly send: (audio: Uint8Array) => void,
  ) {
    this.buffer = new Uint8Array(Math.max(1, capacityBytes));
  }

  /** Bytes waiting for the next send. */
  get pendingBytes(): number {
    return this.fill;
  }

  /** Adds audio, sending the batch once it holds at least `batchBytes`. */
  add(audio: Uint8Array, batchBytes: number): void {
    if (audio.byteLength > this.buffer.byteLength - this.fill) this.flush();
    if (audio.byteLength >= this.buffer.byteLength) {
      this.send(audio);
      return;
    }
    this.buffer.set(audio, this.fill);
    this.fill += audio.byteLength;
    if (this.fill >= batchBytes) this.flush();
  }

  /** Sends whatever is waiting. */
  flush(): void {
    if (this.fill === 0) return;
    const batch = this.buffer.subarray(0, this.fill);
    this.fill = 0;
    this.send(batch);
  }
}
