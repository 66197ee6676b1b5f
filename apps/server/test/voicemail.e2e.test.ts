// Outbound calls answered by a machine, through the carrier simulators: the dial asks for the
// carrier's answering-machine detection when the agent wants it, and on a machine verdict the call
// hangs up at once or leaves the agent's message after the beep, ending as `voicemail`. A human
// answer changes nothing.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  createAgent,
  createOutboundCall,
  createPhoneNumber,
  publishAgent,
  type OrgContext,
} from '@parley/services';
import type { AgentConfigInput } from '@parley/contracts';
import {
  parseTwiml,
  signTwilioRequest,
  startTelnyxCaller,
  startTelnyxRestSimulator,
  startTwilioCaller,
  startTwilioRestSimulator,
  TTS_SIM_MS_PER_CHARACTER,
  type TelnyxRestSimulator,
  type TwilioCaller,
  type TwilioRestSimulator,
} from '@parley/testkit';
import { CarrierDialer } from '../src/telephony/carrier-dialer.js';
import { telnyxRoutes } from '../src/telephony/telnyx-routes.js';
import { twilioRoutes } from '../src/telephony/twilio-routes.js';
import { GREETING, startInboundCallWorld, type InboundCallWorld } from './inbound-call-world.js';

const TWILIO_SID = `AC${'0'.repeat(32)}`;
const TWILIO_TOKEN = 'twilio-auth-token-0123456789abcdef';
const TWILIO_NUMBER = '+15550001111';
const TELNYX_NUMBER = '+15550002222';
const CALLEE = '+15557654321';
const MESSAGE = 'Hi {{customer_name}}, this is Acme about your order. Please call us back. Goodbye!';
const RENDERED = 'Hi Sam, this is Acme about your order. Please call us back. Goodbye!';

let world: InboundCallWorld;
let twilio: TwilioRestSimulator;
let telnyx: TelnyxRestSimulator;
/** The organization, able to place calls through the simulators. */
let org: OrgContext;
const agents: Record<'hangUp' | 'leaveMessage' | 'noDetection', string> = {
  hangUp: '',
  leaveMessage: '',
  noDetection: '',
};

beforeAll(async () => {
  twilio = await startTwilioRestSimulator({ accountSid: TWILIO_SID, authToken: TWILIO_TOKEN });
  telnyx = await startTelnyxRestSimulator();
  // Mounted as registerTelephony does, with Telnyx's Call Control (its hang-ups) pointed at the simulator.
  world = await startInboundCallWorld(async (app, env) => {
    await app.register(async (scope) => {
      scope.addContentTypeParser(
        'application/x-www-form-urlencoded',
        { parseAs: 'string' },
        (_r, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))),
      );
      twilioRoutes(scope, env);
      telnyxRoutes(scope, env, { carrierApiUrls: { telnyx: telnyx.baseUrl } });
    });
  });
  const dialer = new CarrierDialer({
    deps: world.deps,
    carrierApiUrls: { twilio: twilio.baseUrl, telnyx: telnyx.baseUrl },
    telnyxConnectionId: telnyx.connectionId,
  });
  world.deps.dialer = dialer;
  org = { ...world.org, dialer };

  const providers = {
    stt: { provider: 'deepgram', credentialId: await world.credential('deepgram', { apiKey: 'dg-key' }) },
    llm: {
      provider: 'openai',
      model: 'gpt-4o-mini',
      credentialId: await world.credential('openai', { apiKey: 'llm-key' }),
    },
    tts: {
      provider: 'cartesia',
      voice: 'voice-1',
      credentialId: await world.credential('cartesia', { apiKey: 'tts-key' }),
    },
  } as const;
  const agent = async (name: string, voicemail: AgentConfigInput['voicemail']) => {
    const created = await createAgent(org, {
      name,
      systemPrompt: 'You remind customers about their orders.',
      firstMessage: GREETING,
      variables: [{ name: 'customer_name', default: 'there' }],
      ...providers,
      turnTaking: { endpointingSilenceMs: 400, minInterruptionSpeechMs: 200 },
      voicemail,
    });
    await publishAgent(org, created.id);
    return created.id;
  };
  agents.hangUp = await agent('Hang up on machines', { detect: true, action: 'hang_up' });
  agents.leaveMessage = await agent('Leave a message', {
    detect: true,
    action: 'leave_message',
    message: MESSAGE,
  });
  agents.noDetection = await agent('No detection', { detect: false });

  const twilioCredential = await world.credential('twilio', {
    accountSid: TWILIO_SID,
    authToken: TWILIO_TOKEN,
  });
  await createPhoneNumber(org, { carrier: 'twilio', number: TWILIO_NUMBER, credentialId: twilioCredential });
  const telnyxCredential = await world.credential('telnyx', {
    apiKey: telnyx.apiKey,
    publicKey: telnyx.publicKeyBase64,
  });
  await createPhoneNumber(org, { carrier: 'telnyx', number: TELNYX_NUMBER, credentialId: telnyxCredential });
});

// A simulator's own failure (a media stream it could not end, say) fails the test it happened in.
afterEach(() => twilio?.errors.throwIfAny());

afterAll(async () => {
  await Promise.all([twilio?.close(), telnyx?.close()]);
  await world?.close();
});

const waitForRow = (callId: string, expected: Record<string, unknown>) =>
  vi.waitFor(async () => expect(await world.callRow(callId)).toMatchObject(expected), {
    timeout: 15_000,
    interval: 50,
  });

/** Everything the agents have had synthesised so far, in order, spacing normalised. */
const said = () =>
  world.sims.tts.utterances
    .map((u) => u.text)
    .join(' ')
    .replace(/\s+/g, ' ')
    .trim();

/** The message's length as the TTS simulator speaks it. */
const spokenMs = (text: string) => text.length * TTS_SIM_MS_PER_CHARACTER;

describe('an outbound Twilio call', () => {
  /** Places a call with `agentId`; the callee picks up and the media stream connects. */
  async function answeredTwilioCall(
    agentId: string,
  ): Promise<{ callId: string; sid: string; line: TwilioCaller }> {
    const placed = await createOutboundCall(org, {
      agentId,
      to: CALLEE,
      from: TWILIO_NUMBER,
      variables: { customer_name: 'Sam' },
    });
    const sid = placed.carrierCallId!;
    await twilio.sendStatus(sid, 'ringing');
    const { twiml } = await twilio.answer(sid);
    await twilio.sendStatus(sid, 'in-progress');
    const stream = parseTwiml(twiml).children.find((e) => e.name === 'Connect')?.children[0];
    const parameter = (name: string) =>
      stream?.children.find((e) => e.attributes['name'] === name)?.attributes['value'] ?? '';
    const streamUrl = stream?.attributes['url'] ?? '';
    const line = await startTwilioCaller({
      url: streamUrl,
      callSid: sid,
      customParameters: { callId: parameter('callId'), token: parameter('token') },
      headers: { 'x-twilio-signature': signTwilioRequest(TWILIO_TOKEN, streamUrl) },
    });
    await waitForRow(placed.id, { status: 'in_progress', runtimeId: 'test-runtime' });
    return { callId: placed.id, sid, line };
  }

  it('asks Twilio for answering-machine detection only when the agent detects voicemail', async () => {
    const detecting = await createOutboundCall(org, {
      agentId: agents.hangUp,
      to: CALLEE,
      from: TWILIO_NUMBER,
    });
    const form = twilio.call(detecting.carrierCallId!).createForm;
    expect(form.get('MachineDetection')).toBe('DetectMessageEnd');
    expect(form.get('AsyncAmd')).toBe('true');
    // The verdict comes to the call's own status URL, signed and checked like its other callbacks.
    expect(form.get('AsyncAmdStatusCallback')).toBe(
      `${world.deps.publicUrl}/webhooks/twilio/status/${detecting.id}`,
    );

    const plain = await createOutboundCall(org, {
      agentId: agents.noDetection,
      to: CALLEE,
      from: TWILIO_NUMBER,
    });
    const plainForm = twilio.call(plain.carrierCallId!).createForm;
    expect(plainForm.has('MachineDetection')).toBe(false);
    expect(plainForm.has('AsyncAmd')).toBe(false);
    expect(plainForm.has('AsyncAmdStatusCallback')).toBe(false);
  });

  it('hangs up on a machine at once and ends as voicemail, leaving no message', async () => {
    const { callId, sid, line } = await answeredTwilioCall(agents.hangUp);
    const { machine, callback } = await twilio.answerByMachine(sid, line);
    expect(callback.responseStatus).toBe(204);
    await waitForRow(callId, { status: 'voicemail', endReason: 'voicemail', answeredBy: 'machine' });
    expect(line.closedBy).toBe('server');
    // Hung up at the beep: at most the tail of a frame in flight, never a message.
    expect(machine.recordedSpeechMs()).toBeLessThan(200);
    await twilio.sendStatus(sid, 'completed');
    expect(await world.callRow(callId)).toMatchObject({ status: 'voicemail', answeredBy: 'machine' });
  });

  it('leaves the rendered message after the beep, then hangs up and ends as voicemail', async () => {
    const { callId, sid, line } = await answeredTwilioCall(agents.leaveMessage);
    const { machine } = await twilio.answerByMachine(sid, line);
    await waitForRow(callId, { status: 'voicemail', endReason: 'voicemail', answeredBy: 'machine' });
    expect(line.closedBy).toBe('server');
    // The last words synthesised are the message (sentence by sentence), with the variable filled in.
    expect(said().endsWith(RENDERED)).toBe(true);
    // The machine recorded the whole message, and nothing else of note, after its beep.
    const recordedMs = machine.recordedSpeechMs();
    expect(recordedMs).toBeGreaterThan(spokenMs(RENDERED) - 300);
    expect(recordedMs).toBeLessThan(spokenMs(RENDERED) + 600);
    expect(await world.callRow(callId)).toMatchObject({
      carrierReason: expect.stringContaining('AnsweredBy=machine_end_beep'),
    });
  });

  it('carries on as usual when a human answers', async () => {
    const messagesLeft = () => said().split('Please call us back').length;
    const before = messagesLeft();
    const { callId, sid, line } = await answeredTwilioCall(agents.leaveMessage);
    const amd = await twilio.sendAmdResult(sid, 'human');
    expect(amd.responseStatus).toBe(204);
    await line.waitFor(() => line.firstNonSilentOutboundAfter(0), 15_000);
    expect(line.closedBy).toBe(null);
    await line.hangUp();
    await twilio.sendStatus(sid, 'completed');
    await waitForRow(callId, { status: 'completed', endReason: 'caller_hangup', answeredBy: 'human' });
    expect(messagesLeft()).toBe(before);
  });

  it('ends as voicemail when the verdict reaches a server not carrying the call', async () => {
    const placed = await createOutboundCall(org, { agentId: agents.hangUp, to: CALLEE, from: TWILIO_NUMBER });
    const sid = placed.carrierCallId!;
    await twilio.answer(sid);
    await twilio.sendStatus(sid, 'in-progress');
    await twilio.sendAmdResult(sid, 'machine_end_silence');
    expect(await world.callRow(placed.id)).toMatchObject({ status: 'in_progress', answeredBy: 'machine' });
    await twilio.sendStatus(sid, 'completed');
    expect(await world.callRow(placed.id)).toMatchObject({
      status: 'voicemail',
      endReason: 'carrier_voicemail',
      answeredBy: 'machine',
    });
  });
});

describe('an outbound Telnyx call', () => {
  /** Places a call with `agentId`; Telnyx answers it and its media stream connects. */
  async function answeredTelnyxCall(agentId: string) {
    const placed = await createOutboundCall(org, {
      agentId,
      to: CALLEE,
      from: TELNYX_NUMBER,
      variables: { customer_name: 'Sam' },
    });
    const call = telnyx.calls.get(placed.carrierCallId!)!;
    await telnyx.sendWebhook(call.callControlId, 'call.initiated');
    await telnyx.sendWebhook(call.callControlId, 'call.answered');
    const line = await startTelnyxCaller({
      url: call.streamUrl!,
      callControlId: call.callControlId,
      callSessionId: call.callSessionId,
      from: call.from,
      to: call.to,
      ...(call.clientState ? { clientState: call.clientState } : {}),
    });
    await waitForRow(placed.id, { status: 'in_progress', runtimeId: 'test-runtime' });
    return { callId: placed.id, call, line };
  }
  const hungUp = (callControlId: string) =>
    telnyx.requests.some((r) => r.callControlId === callControlId && r.action === 'hangup');

  it('asks Telnyx for detection up to the greeting’s end only when the agent detects voicemail', async () => {
    const detecting = await createOutboundCall(org, {
      agentId: agents.hangUp,
      to: CALLEE,
      from: TELNYX_NUMBER,
    });
    expect(telnyx.calls.get(detecting.carrierCallId!)?.answeringMachineDetection).toBe('greeting_end');
    const plain = await createOutboundCall(org, {
      agentId: agents.noDetection,
      to: CALLEE,
      from: TELNYX_NUMBER,
    });
    expect(telnyx.calls.get(plain.carrierCallId!)?.answeringMachineDetection).toBe(null);
  });

  it('hangs up on a machine as soon as it is detected, and ends as voicemail', async () => {
    const { callId, call, line } = await answeredTelnyxCall(agents.hangUp);
    const { machine, statuses, verdictAtMs } = await telnyx.answerByMachine(call.callControlId, line);
    expect(statuses.every((status) => status === 200)).toBe(true);
    await waitForRow(callId, { status: 'voicemail', endReason: 'voicemail', answeredBy: 'machine' });
    expect(line.closedBy).toBe('server');
    // Hung up on the detection, while the greeting still played: the machine never got to its beep.
    expect(machine.hungUpDuringGreeting).toBe(true);
    // And at once, not merely before the beep: the line closed within moments of the verdict (the
    // greeting had over two seconds to go).
    expect(line.closedAtMs! - verdictAtMs).toBeLessThan(500);
    expect(hungUp(call.callControlId)).toBe(true);
  });

  it('leaves the rendered message once the greeting has ended, then hangs up', async () => {
    const { callId, call, line } = await answeredTelnyxCall(agents.leaveMessage);
    const { machine } = await telnyx.answerByMachine(call.callControlId, line);
    await waitForRow(callId, { status: 'voicemail', endReason: 'voicemail', answeredBy: 'machine' });
    expect(line.closedBy).toBe('server');
    expect(said().endsWith(RENDERED)).toBe(true);
    const recordedMs = machine.recordedSpeechMs();
    expect(recordedMs).toBeGreaterThan(spokenMs(RENDERED) - 300);
    expect(recordedMs).toBeLessThan(spokenMs(RENDERED) + 600);
    expect(await world.callRow(callId)).toMatchObject({
      carrierReason: 'call.machine.greeting.ended: beep_detected',
    });
  });

  it('carries on as usual when a human answers', async () => {
    const { callId, call, line } = await answeredTelnyxCall(agents.leaveMessage);
    await telnyx.sendWebhook(call.callControlId, 'call.machine.detection.ended', {
      payload: { result: 'human' },
    });
    await line.waitFor(() => line.firstNonSilentOutboundAfter(0), 15_000);
    await line.hangUp();
    await telnyx.sendWebhook(call.callControlId, 'call.hangup', {
      payload: { hangup_cause: 'normal_clearing' },
    });
    await waitForRow(callId, { status: 'completed', endReason: 'caller_hangup', answeredBy: 'human' });
    expect(hungUp(call.callControlId)).toBe(false);
  });
});
