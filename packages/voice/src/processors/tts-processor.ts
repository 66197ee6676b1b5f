// Speech synthesis: each clause of a reply becomes its own synthesis stream, started as soon as its
// text arrives (a few ahead of playback) and played strictly in order. Per-clause streams give exact
// clause boundaries, so a mark after each clause tells us what the caller heard. A provider that fails
// before its first audio is replaced by the next one in the chain.
import { AudioConverter, sameFormat } from '../audio/convert.js';
import type { AudioFormat } from '../audio/format.js';
import type { Direction, Frame } from '../pipeline/frames.js';
import { FrameProcessor } from '../pipeline/processor.js';
import { isAbort, ProviderError } from '../providers/errors.js';
import type { TtsProvider, TtsStream } from '../providers/tts.js';
import type { LatencyTracker } from '../session/latency.js';

export interface TtsProcessorOptions {
  /** Primary first, then fallbacks. */
  providers: readonly TtsProvider[];
  voice: string;
  model?: string;
  language?: string;
  speed?: number;
  /** The transport's output format: audio is delivered in it. */
  outputFormat: AudioFormat;
  /** Clauses synthesised ahead of the one playing. */
  maxClausesAhead?: number;
  latency?: LatencyTracker;
}

interface ClauseSynthesis {
  index: number;
  text: string;
  /** All of the clause's text has arrived (a streamed first clause gets it piece by piece). */
  textComplete: boolean;
  /** The live synthesis stream, while text may still be pushed into it. */
  stream: TtsStream | null;
  chunks: Uint8Array[];
  done: boolean;
  started: boolean;
  wake: (() => void) | null;
}

interface TurnSynthesis {
  turnId: number;
  clauses: ClauseSynthesis[];
  ended: boolean;
  hangUpAfter: boolean;
  driving: boolean;
  nextToPlay: number;
}

export class TtsProcessor extends FrameProcessor {
  readonly name = 'tts';
  private readonly options: TtsProcessorOptions;
  private readonly turns = new Map<number, TurnSynthesis>();
  /** Index into `providers` of the one in use; moves forward on failure for the rest of the call. */
  private providerIndex = 0;

  constructor(options: TtsProcessorOptions) {
    super();
    if (options.providers.length === 0) throw new Error('TtsProcessor needs at least one provider');
    this.options = options;
  }

  protected override process(frame: Frame, direction: Direction): void {
    if (direction === 'downstream') {
      switch (frame.type) {
        case 'llm.response.start':
          this.turn(frame.turnId);
          return;
        case 'llm.text': {
          const turn = this.turn(frame.turnId);
          const clauseEnd = frame.clauseEnd ?? true;
          const open = turn.clauses.at(-1);
          if (open && !open.textComplete) {
            // More of a clause that is being streamed into synthesis.
            open.text += frame.text;
            if (frame.text) open.stream?.pushText(frame.text);
            if (clauseEnd) {
              open.textComplete = true;
              open.stream?.end();
            }
          } else {
            if (!frame.text.trim() && clauseEnd) return;
            turn.clauses.push({
              index: turn.clauses.length,
              text: frame.text,
              textComplete: clauseEnd,
              stream: null,
              chunks: [],
              done: false,
              started: false,
              wake: null,
            });
          }
          this.drive(turn);
          return;
        }
        case 'llm.response.end': {
          const turn = this.turn(frame.turnId);
          turn.ended = true;
          turn.hangUpAfter = frame.hangUpAfter ?? false;
          this.drive(turn);
          return;
        }
      }
    }
    this.push(frame, direction);
  }

  protected override onInterruption(): void {
    for (const turn of this.turns.values()) {
      if (!this.ctx.turns.isLive(turn.turnId)) this.forget(turn);
    }
  }

  override async close(): Promise<void> {
    for (const turn of this.turns.values()) this.forget(turn);
  }

  private turn(turnId: number): TurnSynthesis {
    let turn = this.turns.get(turnId);
    if (!turn) {
      turn = { turnId, clauses: [], ended: false, hangUpAfter: false, driving: false, nextToPlay: 0 };
      this.turns.set(turnId, turn);
    }
    return turn;
  }

  private forget(turn: TurnSynthesis): void {
    this.turns.delete(turn.turnId);
    for (const clause of turn.clauses) {
      clause.done = true;
      clause.wake?.();
    }
  }

  /** Starts syntheses within the look-ahead window and plays finished audio in order. */
  private drive(turn: TurnSynthesis): void {
    const ahead = this.options.maxClausesAhead ?? 2;
    for (const clause of turn.clauses) {
      if (clause.index > turn.nextToPlay + ahead) break;
      const provider = this.options.providers[this.providerIndex]!;
      if (!clause.started && (clause.textComplete || provider.capabilities.inputStreaming)) {
        clause.started = true;
        void this.synthesize(turn, clause);
      }
    }
    if (!turn.driving) {
      turn.driving = true;
      void this.play(turn).finally(() => (turn.driving = false));
    }
  }

  private async play(turn: TurnSynthesis): Promise<void> {
    const signal = this.ctx.turns.signal(turn.turnId);
    while (!signal.aborted && this.turns.has(turn.turnId)) {
      const clause = turn.clauses[turn.nextToPlay];
      if (!clause) {
        if (!turn.ended) return; // more text may come: llm.text restarts the driver
        this.turns.delete(turn.turnId);
        this.push({ type: 'tts.end', turnId: turn.turnId, hangUpAfter: turn.hangUpAfter });
        return;
      }
      while (clause.chunks.length > 0 || !clause.done) {
        const chunk = clause.chunks.shift();
        if (chunk) {
          if (signal.aborted) return;
          this.push({
            type: 'tts.audio',
            audio: chunk,
            format: this.options.outputFormat,
            turnId: turn.turnId,
            clauseIndex: clause.index,
          });
          continue;
        }
        await new Promise<void>((resolve) => (clause.wake = resolve));
        clause.wake = null;
      }
      if (signal.aborted) return;
      this.push({
        type: 'tts.clause.end',
        turnId: turn.turnId,
        clauseIndex: clause.index,
        text: clause.text,
      });
      turn.nextToPlay++;
      this.drive(turn);
    }
  }

  private async synthesize(turn: TurnSynthesis, clause: ClauseSynthesis): Promise<void> {
    const signal = this.ctx.turns.signal(turn.turnId);
    const latency = this.options.latency;
    try {
      for (;;) {
        const attemptIndex = this.providerIndex;
        const provider = this.options.providers[attemptIndex]!;
        let gotAudio = false;
        try {
          if (clause.index === 0) latency?.mark(turn.turnId, 'ttsRequest', this.ctx.callTimeMs());
          for await (const chunk of this.stream(provider, clause, signal)) {
            if (signal.aborted) return;
            if (!gotAudio && clause.index === 0)
              latency?.mark(turn.turnId, 'ttsFirstByte', this.ctx.callTimeMs());
            gotAudio = true;
            clause.chunks.push(chunk);
            clause.wake?.();
          }
          return;
        } catch (error) {
          if (isAbort(error, signal)) return;
          if (gotAudio) throw error;
          // Another clause may already have moved on to a fallback: use it.
          if (this.providerIndex > attemptIndex) continue;
          const next = this.options.providers[attemptIndex + 1];
          if (!next) throw error;
          this.ctx.emit({
            type: 'decision',
            decision: 'tts.fallback',
            reason: `${provider.id} failed before its first audio; using ${next.id}`,
            data: { category: error instanceof ProviderError ? error.category : 'internal' },
          });
          this.providerIndex = attemptIndex + 1;
        }
      }
    } catch (error) {
      this.ctx.emit({
        type: 'error',
        code: `tts_${error instanceof ProviderError ? error.category : 'internal'}`,
        message: error instanceof Error ? error.message : String(error),
        fatal: false,
      });
    } finally {
      clause.done = true;
      clause.wake?.();
    }
  }

  /** One clause from one provider, converted to the transport's format when the vendor cannot match it. */
  private async *stream(
    provider: TtsProvider,
    clause: ClauseSynthesis,
    signal: AbortSignal,
  ): AsyncGenerator<Uint8Array> {
    const target = this.options.outputFormat;
    const native = provider.capabilities.outputFormats.find((format) => sameFormat(format, target));
    const format = native ?? provider.capabilities.outputFormats[0]!;
    const converter = native ? null : new AudioConverter(format, target);
    const stream = provider.stream({
      format,
      voice: this.options.voice,
      signal,
      ...(this.options.model !== undefined ? { model: this.options.model } : {}),
      ...(this.options.language !== undefined ? { language: this.options.language } : {}),
      ...(this.options.speed !== undefined ? { speed: this.options.speed } : {}),
    });
    if (clause.text) stream.pushText(clause.text);
    if (clause.textComplete) stream.end();
    else clause.stream = stream; // the rest of the clause is pushed as it is generated
    for await (const chunk of stream) {
      const audio = converter ? converter.convert(chunk.audio) : chunk.audio;
      if (audio.byteLength > 0) yield audio;
    }
    if (converter) {
      const tail = converter.flush();
      if (tail.byteLength > 0) yield tail;
    }
  }
}
