// One simulated phone call as the bench drives it: a Twilio-style caller on the runtime's media
// socket, a script of what it says, and helpers that read what it heard. All times are
// performance.now() of this process, the same clock the provider simulators record with.
import {
  FIXTURES,
  loadFixture,
  startTwilioCaller,
  type FixtureName,
  type TwilioCaller,
} from '@parley/testkit';
import type { Simulators } from './sims.js';

export interface BenchCall {
  tag: string;
  caller: TwilioCaller;
  /** When the caller sent `start`. */
  startedAtMs: number;
}

export async function placeCall(mediaUrl: string, sims: Simulators, tag: string): Promise<BenchCall> {
  const startedAtMs = performance.now();
  const caller = await startTwilioCaller({
    url: mediaUrl,
    customParameters: { callId: tag },
    recordAudio: false,
    // The runtime measures how late it handles each frame from when it was actually sent, so the
    // generator's own lateness on this shared machine is not counted as the runtime's.
    stampSendTimes: true,
  });
  return { tag, caller, startedAtMs };
}

/** The caller says a fixture; the recogniser simulator hears its transcript (none for non-speech). */
export async function say(
  call: BenchCall,
  sims: Simulators,
  fixture: FixtureName,
): Promise<{ startedAtMs: number; endedAtMs: number }> {
  const words = FIXTURES[fixture];
  if (words) sims.saying.set(call.tag, words);
  else sims.saying.delete(call.tag);
  try {
    return await call.caller.play(fixture);
  } finally {
    sims.saying.delete(call.tag);
  }
}

/** The first 20 ms frame of a fixture loud enough to be speech onset (ms from its start). */
export function onsetOffsetMs(name: FixtureName): number {
  const { samples } = loadFixture(name);
  for (let frame = 0; frame * 160 < samples.length; frame++) {
    let energy = 0;
    const slice = samples.subarray(frame * 160, (frame + 1) * 160);
    for (const sample of slice) energy += sample * sample;
    const rms = Math.sqrt(energy / slice.length) / 32768;
    if (rms > 0.01) return frame * 20;
  }
  return 0;
}

/** Resolves once the agent's audio has started after `afterMs` and then stayed silent for `quietMs`. */
export async function waitForAgentTurn(call: BenchCall, afterMs: number, quietMs = 400, timeoutMs = 30_000) {
  const started = await call.caller.waitFor(
    () => call.caller.firstNonSilentOutboundAfter(afterMs),
    timeoutMs,
  );
  await call.caller.waitFor(() => {
    const last = call.caller.lastNonSilentOutboundAt();
    return last !== null && performance.now() - last >= quietMs ? last : null;
  }, timeoutMs);
  return started;
}
