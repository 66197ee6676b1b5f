// A processor is one small stage of a call's pipeline. It receives frames from its neighbours through
// two queues: system frames (interruptions, VAD and transcript events, acknowledgements) jump ahead of
// queued data and are handled even while a data frame is still being processed, so a barge-in never
// waits behind a model reply. Handlers that finish synchronously are run synchronously: the audio path
// costs no promise per frame.
import type { Clock } from '../clock.js';
import type { CallEventBody } from '../session/events.js';
import type { Direction, Frame, FrameOf } from './frames.js';
import { isSystemFrame, survivesInterruption } from './frames.js';
import type { TurnRegistry } from './turns.js';

export interface FrameTransit {
  frame: Frame;
  direction: Direction;
  /** Name of the processor that pushed the frame. */
  from: string;
  /** Name of the receiving processor; null when the frame leaves the pipeline at an end. */
  to: string | null;
}

/** Sees every frame moving between processors. Must be cheap and must not throw. */
export interface PipelineObserver {
  onFrame(transit: FrameTransit): void;
}

/** What every processor of one call shares. */
export interface PipelineContext {
  clock: Clock;
  turns: TurnRegistry;
  /** Milliseconds since the call started, on `clock`. */
  callTimeMs(): number;
  observe(transit: FrameTransit): void;
  /** A frame left the pipeline (downstream past the last processor or upstream past the first). */
  exit(frame: Frame, direction: Direction, from: string): void;
  /** Records a call event (decisions, transcripts, tool calls) on the call's timeline. */
  emit(event: CallEventBody): void;
  /** Reports an error a processor could not handle itself. */
  fail(processor: string, error: unknown): void;
}

type QueuedFrame = { frame: Frame; direction: Direction };

export abstract class FrameProcessor {
  abstract readonly name: string;
  private upstreamNeighbour: FrameProcessor | null = null;
  private downstreamNeighbour: FrameProcessor | null = null;
  private pipelineContext: PipelineContext | null = null;
  private readonly systemQueue: QueuedFrame[] = [];
  private readonly dataQueue: QueuedFrame[] = [];
  private systemBusy = false;
  private dataBusy = false;

  /** Wired by the pipeline before the first frame. */
  attach(context: PipelineContext, upstream: FrameProcessor | null, downstream: FrameProcessor | null): void {
    this.pipelineContext = context;
    this.upstreamNeighbour = upstream;
    this.downstreamNeighbour = downstream;
  }

  protected get ctx(): PipelineContext {
    if (!this.pipelineContext) throw new Error(`processor ${this.name} is not attached to a pipeline`);
    return this.pipelineContext;
  }

  /** Called by a neighbour (or the pipeline) to hand this processor a frame. */
  receive(frame: Frame, direction: Direction): void {
    if (this.belongsToAbortedTurn(frame)) return;
    if (isSystemFrame(frame)) {
      this.systemQueue.push({ frame, direction });
      if (!this.systemBusy) this.drain(this.systemQueue, 'system');
    } else {
      this.dataQueue.push({ frame, direction });
      if (!this.dataBusy) this.drain(this.dataQueue, 'data');
    }
  }

  /** Handles one frame. The default passes everything on in the direction it was going. */
  protected process(frame: Frame, direction: Direction): void | Promise<void> {
    this.push(frame, direction);
  }

  /** Sends a frame to the neighbour in `direction`. */
  protected push(frame: Frame, direction: Direction = 'downstream'): void {
    const target = direction === 'downstream' ? this.downstreamNeighbour : this.upstreamNeighbour;
    const ctx = this.ctx;
    ctx.observe({ frame, direction, from: this.name, to: target?.name ?? null });
    if (target) target.receive(frame, direction);
    else ctx.exit(frame, direction, this.name);
  }

  /** Sends a frame both ways (interruptions): every processor hears it. */
  protected broadcast(frame: Frame): void {
    this.push(frame, 'downstream');
    this.push(frame, 'upstream');
  }

  /**
   * An interruption passed through: queued data is already dropped and the turn aborted; stop any
   * local work (timers, buffered text). The frame is forwarded by the base class afterwards.
   */
  protected onInterruption(_frame: FrameOf<'interruption'>): void {}

  /** Called once when the pipeline stops; release provider streams and timers here. */
  async close(): Promise<void> {}

  private belongsToAbortedTurn(frame: Frame): boolean {
    if (isSystemFrame(frame) || !('turnId' in frame) || typeof frame.turnId !== 'number') return false;
    return this.pipelineContext?.turns.isAborted(frame.turnId) ?? false;
  }

  private drain(queue: QueuedFrame[], tier: 'system' | 'data'): void {
    this.setBusy(tier, true);
    while (queue.length > 0) {
      const { frame, direction } = queue.shift()!;
      if (frame.type === 'interruption') {
        this.dropInterruptedData();
        try {
          this.onInterruption(frame);
        } catch (error) {
          this.ctx.fail(this.name, error);
        }
        this.push(frame, direction);
        continue;
      }
      if (this.belongsToAbortedTurn(frame)) continue;
      let result: void | Promise<void>;
      try {
        result = this.process(frame, direction);
      } catch (error) {
        this.ctx.fail(this.name, error);
        continue;
      }
      if (result && typeof result.then === 'function') {
        // Resume the loop when the handler finishes; the other tier keeps running meanwhile.
        result.then(
          () => this.drain(queue, tier),
          (error: unknown) => {
            this.ctx.fail(this.name, error);
            this.drain(queue, tier);
          },
        );
        return;
      }
    }
    this.setBusy(tier, false);
  }

  private setBusy(tier: 'system' | 'data', busy: boolean): void {
    if (tier === 'system') this.systemBusy = busy;
    else this.dataBusy = busy;
  }

  private dropInterruptedData(): void {
    const kept = this.dataQueue.filter(({ frame }) => survivesInterruption(frame));
    this.dataQueue.length = 0;
    this.dataQueue.push(...kept);
  }
}
