// The CLI's half of `parley call simulate`: provider simulators (Deepgram-style STT, an OpenAI-compatible
// LLM, Cartesia / ElevenLabs / OpenAI-style TTS) on 127.0.0.1 ephemeral ports, and a caller that speaks
// the chosen carrier's media protocol to the server (testkit's caller for that carrier, handed the call
// id and media token the way the carrier would echo them). This is the only server module that loads
// @parley/testkit, a development dependency, and it loads it only when the command runs.
import { randomBytes } from 'node:crypto';
import type * as TestkitModule from '@parley/testkit';
import { encodeTelnyxClientState } from '@parley/telephony';
import type { FixtureName, LlmSimReply, WireChatRequest } from '@parley/testkit';
import { encodeExtraHeaderValue } from '../telephony/plivo-family-routes.js';
import type { SimulatedCarrier } from '../telephony/simulated-media.js';
import type { CallSimulation } from '../telephony/simulation.js';

type Testkit = typeof TestkitModule;

export class SimulatorUnavailableError extends Error {
  override readonly name = 'SimulatorUnavailableError';
}

async function loadTestkit(): Promise<Testkit> {
  try {
    return await import('@parley/testkit');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new SimulatorUnavailableError(
        'the simulator needs the development install (npm install without --omit=dev, then npm run build)',
      );
    }
    throw error;
  }
}

/**
 * Recorded synthetic speech the caller's line carries. The server's voice activity detector is a
 * neural model that hears only speech (a tone is not a voice), so each line is played as the recording
 * nearest its length, while the STT simulator reports the line's own words.
 */
const SPEECH: readonly FixtureName[] = [
  'opening-hours',
  'thank-you',
  'interrupt-wait',
  'greeting-request',
  'order-complaint',
];
/** A speaking rate of about 15 characters a second, to match a line to a recording. */
const MS_PER_CHARACTER = 65;

export const DEFAULT_LINES = ['What time do you open on Saturday?', 'Thank you, that is all I needed.'];

/** A reply that shows the conversation went round: the agent acknowledges what the caller said. */
function simulatedReply(body: WireChatRequest): LlmSimReply {
  const messages = (body.messages ?? []) as { role?: string; content?: unknown }[];
  const lastUser = [...messages].reverse().find((m) => m.role === 'user');
  const said = typeof lastUser?.content === 'string' ? lastUser.content.trim() : '';
  return {
    text: said
      ? `You said: ${said} This is a simulated reply; with a real model your agent would answer here.`
      : 'This is a simulated reply.',
  };
}

export interface Simulators {
  /** What the server's record of the call holds: where each simulator listens, and its key. */
  simulation: CallSimulation;
  close(): Promise<void>;
  /** Calls the server's media socket and holds the conversation; resolves after the hang-up. */
  converse(options: ConversationOptions): Promise<void>;
}

export interface ConversationOptions {
  carrier: SimulatedCarrier;
  mediaUrl: string;
  callId: string;
  mediaToken: string;
  lines: readonly string[];
  /** Longest wait for the agent to start or finish a reply. */
  turnTimeoutMs: number;
  /** Progress for the terminal (no call content). */
  onProgress: (message: string) => void;
}

/** The agent has stopped talking once nothing audible has arrived (or is left to play) for this long. */
const AGENT_QUIET_MS = 1000;
/** An agent that does not greet (it waits for the caller) is spoken to after this long. */
const GREETING_WAIT_MS = 8000;

export async function startSimulators(): Promise<Simulators> {
  const kit = await loadTestkit();
  const apiKey = randomBytes(24).toString('base64url');
  const stt = await kit.startSttSimulator({ apiKey });
  const started: { close(): Promise<void> }[] = [stt];
  try {
    const llm = await kit.startLlmSimulator({ apiKey, responder: simulatedReply });
    started.push(llm);
    const cartesia = await kit.startCartesiaSimulator({ apiKey });
    started.push(cartesia);
    const elevenlabs = await kit.startElevenLabsSimulator({ apiKey });
    started.push(elevenlabs);
    const openaiTts = await kit.startOpenAiTtsSimulator({ apiKey });
    started.push(openaiTts);
    const close = async () => {
      await Promise.allSettled(started.map((s) => s.close()));
    };
    return {
      simulation: {
        apiKey,
        stt: { deepgram: stt.url },
        llm: llm.url,
        tts: { cartesia: cartesia.baseUrl, elevenlabs: elevenlabs.baseUrl, 'openai-tts': openaiTts.baseUrl },
      },
      close,
      converse: (options) => converse(kit, stt, options),
    };
  } catch (error) {
    await Promise.allSettled(started.map((s) => s.close()));
    throw error;
  }
}

function recordingFor(kit: Testkit, line: string): FixtureName {
  const exact = SPEECH.find((name) => kit.FIXTURES[name] === line);
  if (exact) return exact;
  const wantedMs = line.length * MS_PER_CHARACTER;
  let best = SPEECH[0]!;
  for (const name of SPEECH) {
    const distance = Math.abs(kit.loadFixture(name).durationMs - wantedMs);
    if (distance < Math.abs(kit.loadFixture(best).durationMs - wantedMs)) best = name;
  }
  return best;
}

async function converse(
  kit: Testkit,
  stt: { queueUtterance(text: string): void },
  options: ConversationOptions,
): Promise<void> {
  const caller = await startCaller(kit, options);
  try {
    try {
      await agentReply(caller, caller.startSentAtMs, GREETING_WAIT_MS, options.turnTimeoutMs);
      options.onProgress('the agent greeted the caller');
    } catch (error) {
      if (!(error instanceof NoReplyYet)) throw error;
      options.onProgress('the agent did not speak first; the caller starts');
    }
    for (const [index, line] of options.lines.entries()) {
      const turn = `line ${index + 1} of ${options.lines.length}`;
      stt.queueUtterance(line);
      let played;
      try {
        played = await caller.play(recordingFor(kit, line));
      } catch (error) {
        throw new Error(`the server ended the call while the caller was saying ${turn}`, { cause: error });
      }
      options.onProgress(`the caller said ${turn}`);
      try {
        await agentReply(caller, played.endedAtMs, options.turnTimeoutMs, options.turnTimeoutMs);
      } catch (error) {
        if (!(error instanceof NoReplyYet)) throw error;
        throw new Error(`the agent did not answer ${turn} within ${options.turnTimeoutMs / 1000} s`);
      }
      options.onProgress(`the agent answered ${turn}`);
    }
  } finally {
    await caller.hangUp();
  }
}

/** What the conversation needs of a caller, whichever carrier's protocol it speaks. */
interface LineCaller {
  /** Clock time the stream started; the agent's greeting is audio after it. */
  readonly startSentAtMs: number;
  readonly closedAtMs: number | null;
  /** Agent audio received but not yet played. */
  readonly bufferedOutboundMs: number;
  /** Arrival times of agent audio that was not silent, ascending. */
  audibleArrivals(): readonly number[];
  waitFor<T>(probe: () => T | null | undefined | false, timeoutMs?: number): Promise<T>;
  play(audio: FixtureName): Promise<{ endedAtMs: number }>;
  hangUp(): Promise<void>;
}

/**
 * Dials the simulated media socket as the carrier would, with the call id and single-use media token
 * where that carrier's stream carries them: Twilio's and Exotel's custom parameters, Plivo's and
 * Vobiz's extra headers (hex, as the answer document writes them), Telnyx's client_state.
 */
async function startCaller(kit: Testkit, options: ConversationOptions): Promise<LineCaller> {
  const { mediaUrl: url, callId, mediaToken: token } = options;
  const withArrivals = <C extends Omit<LineCaller, 'audibleArrivals'>>(
    caller: C,
    arrivals: () => readonly number[],
  ): LineCaller => ({
    get startSentAtMs() {
      return caller.startSentAtMs;
    },
    get closedAtMs() {
      return caller.closedAtMs;
    },
    get bufferedOutboundMs() {
      return caller.bufferedOutboundMs;
    },
    audibleArrivals: arrivals,
    waitFor: (probe, timeoutMs) => caller.waitFor(probe, timeoutMs),
    play: (audio) => caller.play(audio),
    hangUp: () => caller.hangUp(),
  });
  switch (options.carrier) {
    case 'twilio': {
      const caller = await kit.startTwilioCaller({ url, customParameters: { callId, token } });
      return withArrivals(caller, () => caller.nonSilentFrameTimes);
    }
    case 'plivo':
    case 'vobiz': {
      const start = options.carrier === 'plivo' ? kit.startPlivoCaller : kit.startVobizCaller;
      const caller = await start({
        url,
        extraHeaders: { callId: encodeExtraHeaderValue(callId), token: encodeExtraHeaderValue(token) },
      });
      return withArrivals(caller, () => caller.nonSilentFrameTimes);
    }
    case 'exotel': {
      const caller = await kit.startExotelCaller({ url, customParameters: { callId, token } });
      return withArrivals(caller, () => caller.nonSilentChunkTimes);
    }
    case 'telnyx': {
      const caller = await kit.startTelnyxCaller({
        url,
        clientState: encodeTelnyxClientState({ callId, token }),
      });
      return withArrivals(caller, () => caller.nonSilentFrameTimes);
    }
  }
}

class NoReplyYet extends Error {}

/**
 * Waits for the agent to start speaking after `afterMs` (within `startWithinMs`) and then to finish:
 * nothing audible for AGENT_QUIET_MS and nothing left to play. Resolves with the last audible arrival.
 */
async function agentReply(
  caller: LineCaller,
  afterMs: number,
  startWithinMs: number,
  finishWithinMs: number,
): Promise<number> {
  if (caller.closedAtMs !== null) throw new Error('the server ended the call');
  try {
    await caller.waitFor(() => caller.audibleArrivals().find((atMs) => atMs > afterMs), startWithinMs);
  } catch (error) {
    if (caller.closedAtMs !== null) throw new Error('the server ended the call', { cause: error });
    throw new NoReplyYet();
  }
  try {
    return await caller.waitFor(() => {
      const last = caller.audibleArrivals().at(-1);
      return last !== undefined &&
        performance.now() - last >= AGENT_QUIET_MS &&
        caller.bufferedOutboundMs === 0
        ? last
        : null;
    }, finishWithinMs);
  } catch (error) {
    if (caller.closedAtMs !== null) throw new Error('the server ended the call', { cause: error });
    throw new Error(`the agent did not stop speaking within ${finishWithinMs / 1000} s`, { cause: error });
  }
}
