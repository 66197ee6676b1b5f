// Twilio's side of a phone call: the voice webhook that answers an inbound call with a media stream,
// the status callback, and the media WebSocket itself. Every request is believed only after its
// X-Twilio-Signature checks out against the auth token of the number's credential, over the URL the
// operator configured (the public URL; wss:// for the socket).
import {
  beginInboundCall,
  carrierWebhookPaths,
  findCallCarrier,
  isFinalCallStatus,
  issueMediaToken,
  resolveInboundRoute,
  resumeCallMedia,
  ServiceError,
} from '@parley/services';
import {
  connectStreamTwiml,
  parseTwilioStatusCallback,
  rejectionTwiml,
  TwilioMediaError,
  TwilioMediaTransport,
  TwilioWebhookError,
  validateTwilioMediaSignature,
  validateTwilioSignature,
} from '@parley/telephony';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { outboundAnswerPath } from './carrier-dialer.js';
import { actOnMachineVerdict } from './machine-verdict.js';
import { sendCallCommand } from '../live/send-call-command.js';
import {
  carrierSecret,
  mediaBaseForNewCall,
  mediaBaseUrl,
  nowOf,
  ownMediaBaseUrl,
  type TelephonyEnv,
} from './telephony-env.js';
import { claimAndCarry } from './claim-and-carry.js';
import { assistantRequestEnv } from './assistant-request-env.js';
import {
  applyCarrierStatusReported,
  refuseCallReported,
  ringOrRefuseInbound,
} from '../live/status-change-reports.js';

/** Ends a call that has nothing left to connect to (canceled or over before it was answered). */
const hangUpTwiml = () => '<?xml version="1.0" encoding="UTF-8"?><Response><Hangup/></Response>';
/**
 * No runtime can carry a new call (all draining or gone): `<Reject>` leaves the call unanswered (not
 * billed) and the caller hears a busy tone.
 */
const BUSY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response><Reject reason="busy"/></Response>';

const CARRIER = 'twilio';
const PATHS = carrierWebhookPaths(CARRIER);
/** Twilio sends `start` at once; a socket that says nothing is not a Twilio stream. */
const START_TIMEOUT_MS = 10_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Spoken to callers of a number no agent takes; never names the business or the reason. */
const NOT_IN_SERVICE = 'Sorry, this number cannot take your call right now. Please try again later. Goodbye.';

type FormBody = Record<string, string>;

export function twilioRoutes(app: FastifyInstance, env: TelephonyEnv): void {
  const { deps, logger } = env;
  const log = logger.child({ carrier: CARRIER });

  const twiml = (reply: FastifyReply, document: string) =>
    reply.header('content-type', 'text/xml; charset=utf-8').send(document);
  const forbidden = (reply: FastifyReply, why: string, fields: Record<string, unknown> = {}) => {
    log.warn({ ...fields, why }, 'refused a Twilio request');
    return reply.code(403).send({ error: { code: 'forbidden', message: 'Signature check failed' } });
  };
  const signatureOf = (request: FastifyRequest) => {
    const header = request.headers['x-twilio-signature'];
    return typeof header === 'string' ? header : undefined;
  };

  app.post(PATHS.inbound, async (request, reply) => {
    const params = request.body as FormBody;
    const { To: to, From: from, CallSid: callSid } = params;
    if (!to || !callSid) {
      return reply
        .code(400)
        .send({ error: { code: 'invalid_request', message: 'To and CallSid are required' } });
    }
    const route = await resolveInboundRoute(deps, CARRIER, to);
    if (route.reason === 'unknown_number') {
      // Nothing to verify against; the answer tells the caller nothing about anyone's business.
      log.warn({ reason: route.reason }, 'inbound call to a number no organization has');
      return twiml(reply, rejectionTwiml(NOT_IN_SERVICE));
    }
    if (!route.credentialId) {
      return forbidden(reply, 'the number has no credential to verify Twilio with', {
        phoneNumberId: route.phoneNumberId,
      });
    }
    const secret = await carrierSecret(deps, route.organizationId, route.credentialId);
    const valid = validateTwilioSignature({
      url: `${deps.publicUrl}${PATHS.inbound}`,
      params,
      signature: signatureOf(request),
      authToken: secret['authToken'] ?? '',
    });
    if (!valid)
      return forbidden(reply, 'forged or missing signature', { phoneNumberId: route.phoneNumberId });
    if (route.reason !== null) {
      log.warn(
        { reason: route.reason, organizationId: route.organizationId, phoneNumberId: route.phoneNumberId },
        'inbound call rejected: no agent takes this number',
      );
      return twiml(reply, rejectionTwiml(NOT_IN_SERVICE));
    }
    const mediaBase = await mediaBaseForNewCall(deps, env.runtime);
    const { callId, mediaToken, agentId } = await beginInboundCall(
      deps.db,
      {
        organizationId: route.organizationId,
        phoneNumberId: route.phoneNumberId,
        agentId: route.agent.id,
        agentVersion: route.agent.publishedVersion,
        carrier: CARRIER,
        carrierCallId: callSid,
        from: from ?? '',
        to,
      },
      nowOf(deps),
      // A call no runtime can take is refused at once: its assistant request hook is not asked.
      mediaBase ? assistantRequestEnv(env) : undefined,
    );
    const call = { id: callId, organizationId: route.organizationId, agentId };
    if ((await ringOrRefuseInbound(env, call, mediaBase !== null, log)) === 'refused') {
      return twiml(reply, BUSY_TWIML);
    }
    log.info({ callId, organizationId: route.organizationId }, 'inbound call answered with a media stream');
    return twiml(
      reply,
      connectStreamTwiml({
        mediaUrl: `${mediaBase}${PATHS.media}/${callId}`,
        parameters: { callId, token: mediaToken },
      }),
    );
  });

  // An outbound call was answered: connect it to its media stream (or hang up if it is over).
  app.post(outboundAnswerPath(CARRIER, ':callId'), async (request, reply) => {
    const { callId } = request.params as { callId: string };
    const params = request.body as FormBody;
    const call = UUID.test(callId) ? await findCallCarrier(deps.db, { callId }) : null;
    if (!call || call.carrier !== CARRIER || !call.credentialId)
      return forbidden(reply, 'answer for an unknown call');
    const secret = await carrierSecret(deps, call.organizationId, call.credentialId);
    const valid = validateTwilioSignature({
      url: `${deps.publicUrl}${outboundAnswerPath(CARRIER, callId)}`,
      params,
      signature: signatureOf(request),
      authToken: secret['authToken'] ?? '',
    });
    if (!valid) return forbidden(reply, 'forged or missing signature', { callId });
    const mediaBase = await mediaBaseForNewCall(deps, env.runtime);
    if (!mediaBase) {
      await refuseCallReported(env, callId);
      log.warn({ callId }, 'outbound call answered but no runtime takes calls: hung up');
      return twiml(reply, hangUpTwiml());
    }
    const mediaToken = await issueMediaToken(deps.db, callId, nowOf(deps));
    if (!mediaToken) return twiml(reply, hangUpTwiml());
    log.info({ callId }, 'outbound call answered; connecting its media stream');
    return twiml(
      reply,
      connectStreamTwiml({
        mediaUrl: `${mediaBase}${PATHS.media}/${callId}`,
        parameters: { callId, token: mediaToken },
      }),
    );
  });

  /** Status callbacks: inbound calls' at the number's status URL, outbound calls' at one with our call id. */
  const onStatus = async (request: FastifyRequest, reply: FastifyReply) => {
    const params = request.body as FormBody;
    const { callId } = request.params as { callId?: string };
    let update;
    try {
      update = parseTwilioStatusCallback(params);
    } catch (error) {
      if (!(error instanceof TwilioWebhookError)) throw error;
      return reply.code(400).send({ error: { code: 'invalid_request', message: error.message } });
    }
    const call =
      callId === undefined
        ? await findCallCarrier(deps.db, { carrier: CARRIER, carrierCallId: update.carrierCallId })
        : UUID.test(callId)
          ? await findCallCarrier(deps.db, { callId })
          : null;
    if (!call?.credentialId || call.carrier !== CARRIER) {
      log.warn('status callback for a call Parley does not have');
      return reply.code(404).send({ error: { code: 'call_not_found', message: 'No such call' } });
    }
    const secret = await carrierSecret(deps, call.organizationId, call.credentialId);
    const valid = validateTwilioSignature({
      url: `${deps.publicUrl}${PATHS.status}${callId === undefined ? '' : `/${callId}`}`,
      params,
      signature: signatureOf(request),
      authToken: secret['authToken'] ?? '',
    });
    if (!valid) return forbidden(reply, 'forged or missing signature', { callId: call.callId });
    const applied = await applyCarrierStatusReported(env, CARRIER, update, {
      ...(callId === undefined ? {} : { callId }),
    });
    log.info({ callId: call.callId, status: applied?.status }, 'call status from Twilio');
    if (applied) await actOnMachineVerdict(env, applied.callId, update);
    // The caller may hang up while keypad tones play between two media streams of the call.
    if (applied && isFinalCallStatus(update.status)) {
      await sendCallCommand(env, { type: 'carrier_ended', callId: applied.callId });
    }
    return reply.code(204).send();
  };
  app.post(PATHS.status, onStatus);
  app.post(`${PATHS.status}/:callId`, onStatus);

  /**
   * The call's stream came back after keypad tones replaced its TwiML (see ResumableCallLeg): with the
   * fresh token, the new socket joins the session this runtime is running, and starts nothing new.
   */
  const resumeStream = async (callId: string, mediaToken: string, transport: TwilioMediaTransport) => {
    try {
      await resumeCallMedia(
        deps.db,
        { callId, mediaToken, carrier: CARRIER, runtimeId: env.runtime.runtimeId },
        nowOf(deps),
      );
    } catch (error) {
      if (!(error instanceof ServiceError)) throw error;
      log.warn({ callId }, 'reconnected media stream with a token that is not this call’s: closed');
      await transport.hangUp('unauthorised');
      return;
    }
    if (!env.runtime.resumeCall(callId, transport)) {
      log.warn({ callId }, 'reconnected media stream for a call that expects none: closed');
      await transport.hangUp('not_expected');
      return;
    }
    log.info({ callId }, 'media stream reconnected after keypad tones');
  };

  app.get(
    `${PATHS.media}/:callId`,
    {
      websocket: true,
      // Runs before the upgrade: a refused socket gets a plain 403 and never opens.
      preValidation: async (request, reply) => {
        const { callId } = request.params as { callId: string };
        const call = UUID.test(callId) ? await findCallCarrier(deps.db, { callId }) : null;
        if (!call || call.carrier !== CARRIER || !call.credentialId) {
          return forbidden(reply, 'media socket for an unknown call');
        }
        const secret = await carrierSecret(deps, call.organizationId, call.credentialId);
        // Signed over the URL the answer gave: this runtime's own media URL, or the public one when the
        // answering process sent the call through the load balancer (see mediaBaseForNewCall).
        const bases = new Set([ownMediaBaseUrl(deps, env.runtime), mediaBaseUrl(deps)]);
        const valid = [...bases].some((base) =>
          validateTwilioMediaSignature({
            url: `${base}${PATHS.media}/${callId}`,
            signature: signatureOf(request),
            authToken: secret['authToken'] ?? '',
          }),
        );
        if (!valid) return forbidden(reply, 'forged or missing media signature', { callId });
        return undefined;
      },
    },
    (socket, request) => {
      const { callId } = request.params as { callId: string };
      void (async () => {
        let accepted;
        try {
          accepted = await TwilioMediaTransport.accept(socket, { startTimeoutMs: START_TIMEOUT_MS });
        } catch (error) {
          if (!(error instanceof TwilioMediaError)) throw error;
          log.warn({ callId, code: error.code }, 'media stream refused before start');
          return;
        }
        const { transport, start } = accepted;
        if (env.runtime.isCarrying(callId)) {
          await resumeStream(callId, start.customParameters['token'] ?? '', transport);
          return;
        }
        const mediaToken = start.customParameters['token'] ?? '';
        await claimAndCarry(
          env,
          { callId, mediaToken, carrier: CARRIER, simulated: false },
          transport,
          async () => {
            log.warn({ callId }, 'media stream with a token that is not this call’s: closed');
            await transport.hangUp('unauthorised');
          },
        );
      })().catch((error: unknown) => {
        log.error({ err: error, callId }, 'media stream failed');
        socket.close();
      });
    },
  );
}
