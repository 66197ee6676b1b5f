// The runner: links processors in order, gives them a shared context (clock, turns, observers), lets
// the session inject frames at either end, and reports frames that leave the pipeline.
import type { Clock } from '../clock.js';
import type { CallEventBody } from '../session/events.js';
import type { Direction, Frame } from './frames.js';
import type { FrameProcessor, FrameTransit, PipelineContext, PipelineObserver } from './processor.js';
import { TurnRegistry } from './turns.js';

export interface PipelineOptions {
  clock: Clock;
  observers?: readonly PipelineObserver[];
  /** Frames leaving the pipeline at either end. */
  onExit?: (frame: Frame, direction: Direction) => void;
  /** Call events processors record (decisions, transcripts, tool calls). */
  onEvent?: (event: CallEventBody) => void;
  /** A processor threw: the call goes on; the session decides whether to log or end it. */
  onProcessorError?: (processor: string, error: unknown) => void;
  /** Call time origin on `clock`; defaults to when the pipeline is built. */
  startedAtMs?: number;
}

export class Pipeline {
  readonly turns = new TurnRegistry();
  readonly context: PipelineContext;
  private readonly processors: readonly FrameProcessor[];
  private readonly observers: PipelineObserver[];
  private closed = false;

  constructor(processors: readonly FrameProcessor[], options: PipelineOptions) {
    if (processors.length === 0) throw new Error('a pipeline needs at least one processor');
    this.processors = processors;
    this.observers = [...(options.observers ?? [])];
    const startedAtMs = options.startedAtMs ?? options.clock.now();
    const observers = this.observers;
    this.context = {
      clock: options.clock,
      turns: this.turns,
      callTimeMs: () => options.clock.now() - startedAtMs,
      observe(transit: FrameTransit) {
        for (const observer of observers) observer.onFrame(transit);
      },
      exit: (frame, direction) => options.onExit?.(frame, direction),
      emit: (event) => options.onEvent?.(event),
      fail: (processor, error) => options.onProcessorError?.(processor, error),
    };
    processors.forEach((processor, index) => {
      processor.attach(this.context, processors[index - 1] ?? null, processors[index + 1] ?? null);
    });
  }

  addObserver(observer: PipelineObserver): void {
    this.observers.push(observer);
  }

  /** Sends `start` through the pipeline. */
  start(): void {
    this.inject({ type: 'start' });
  }

  /** Feeds a frame in at the head (downstream) or the tail (upstream). */
  inject(frame: Frame, direction: Direction = 'downstream'): void {
    if (this.closed) return;
    const target =
      direction === 'downstream' ? this.processors[0]! : this.processors[this.processors.length - 1]!;
    this.context.observe({ frame, direction, from: 'session', to: target.name });
    target.receive(frame, direction);
  }

  /** Aborts every live agent turn and tells every processor, from both ends. */
  interrupt(reason: string): void {
    if (this.closed) return;
    this.turns.abortAll(reason);
    const frame: Frame = { type: 'interruption', turnId: null, reason, atMs: this.context.callTimeMs() };
    this.inject(frame, 'downstream');
  }

  /** Stops every processor (provider streams, timers). Frames injected afterwards are ignored. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.turns.abortAll('call ended');
    await Promise.allSettled(this.processors.map((processor) => processor.close()));
  }
}
