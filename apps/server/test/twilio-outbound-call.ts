// Test-only: an outbound call through the Twilio simulators, from the REST request to the callee's
// signed media socket, for the e2e suites that need an answered Twilio call to talk on.
import { createOutboundCall } from '@parley/services';
import {
  parseTwiml,
  signTwilioRequest,
  startTwilioCaller,
  type TwilioCaller,
  type TwilioRestSimulator,
  type TwimlElement,
} from '@parley/testkit';
import type { InboundCallWorld } from './inbound-call-world.js';

/** The `<Stream>` of a TwiML document (inside its `<Connect>`): its url and parameters. */
export function twilioStreamOf(twiml: string): { url: string; parameters: Record<string, string> } {
  const stream = findStream(parseTwiml(twiml));
  const parameters: Record<string, string> = {};
  for (const parameter of stream?.children ?? []) {
    parameters[parameter.attributes['name'] ?? ''] = parameter.attributes['value'] ?? '';
  }
  return { url: stream?.attributes['url'] ?? '', parameters };
}

function findStream(element: TwimlElement): TwimlElement | null {
  if (element.name === 'Stream') return element;
  for (const child of element.children) {
    const found = findStream(child);
    if (found) return found;
  }
  return null;
}

/** Opens a media stream of call `callSid` as Twilio does: these parameters, the URL signed. */
export function connectTwilioStream(
  stream: { url: string; parameters: Record<string, string> },
  callSid: string,
  authToken: string,
): Promise<TwilioCaller> {
  return startTwilioCaller({
    url: stream.url,
    callSid,
    customParameters: stream.parameters,
    headers: { 'x-twilio-signature': signTwilioRequest(authToken, stream.url) },
  });
}

/** Places an outbound call from the agent, answers it and connects the callee's media socket. */
export async function answeredTwilioCall(
  world: InboundCallWorld,
  rest: TwilioRestSimulator,
  call: { agentId: string; to: string; from: string; authToken: string },
): Promise<{ callId: string; sid: string; callee: TwilioCaller }> {
  const placed = await createOutboundCall(world.org, { agentId: call.agentId, to: call.to, from: call.from });
  const sid = placed.carrierCallId!;
  await rest.sendStatus(sid, 'ringing');
  const { twiml } = await rest.answer(sid);
  await rest.sendStatus(sid, 'in-progress');
  return {
    callId: placed.id,
    sid,
    callee: await connectTwilioStream(twilioStreamOf(twiml), sid, call.authToken),
  };
}
