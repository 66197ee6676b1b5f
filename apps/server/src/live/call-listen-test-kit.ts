// Test-only: a live call's session as supervisor listen sees it, and a listener's WebSocket, both in
// memory, for the tests of the listen path (call-listeners.test.ts, call-listen-redis.test.ts).
import { EventEmitter } from 'node:events';
import type { WebSocket } from 'ws';

/** A session whose tap the test drives: `chunk()` is the call's audio, `end()` its end. */
export class FakeTappedSession {
  taps = 0;
  stops = 0;
  private tap: { onChunk: (chunk: Int16Array) => void; onEnd: (reason: string) => void } | null = null;

  tapAudio(options: { onChunk: (chunk: Int16Array) => void; onEnd: (reason: string) => void }) {
    this.taps += 1;
    this.tap = options;
    const tap = options;
    return {
      sampleRateHz: 8000,
      stop: () => {
        if (this.tap === tap) {
          this.tap = null;
          this.stops += 1;
        }
      },
    };
  }

  get tapped(): boolean {
    return this.tap !== null;
  }

  chunk(samples: Int16Array): void {
    this.tap?.onChunk(samples);
  }

  end(reason: string): void {
    const tap = this.tap;
    this.tap = null;
    tap?.onEnd(reason);
  }
}

/** What a listener's client received, as a `ws` server socket would have sent it. */
export class FakeListenerSocket extends EventEmitter {
  readonly OPEN = 1;
  readonly CONNECTING = 0;
  readyState = 1;
  bufferedAmount = 0;
  readonly texts: Record<string, unknown>[] = [];
  readonly binaries: Buffer[] = [];
  closed: { code: number; reason: string } | null = null;

  send(data: string | Buffer, options?: { binary?: boolean }): void {
    if (options?.binary) this.binaries.push(Buffer.from(data));
    else this.texts.push(JSON.parse(String(data)) as Record<string, unknown>);
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = { code, reason };
    this.readyState = 3;
    this.emit('close', code, Buffer.from(reason));
  }

  /** The client goes away. */
  disconnect(): void {
    this.close(1001, 'client left');
  }

  asWebSocket(): WebSocket {
    return this as unknown as WebSocket;
  }
}
