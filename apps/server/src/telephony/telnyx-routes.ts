// Telnyx's side of a phone call, through Call Control: the signed webhook events and the media
// WebSocket.
//
// How a call reaches us: the operator's Call Control application has our inbound URL as its webhook
// URL, so every event of an inbound call comes there — `call.initiated` (ringing at us), then
// `call.answered`, `streaming.*`, `call.hangup`. The status URL takes the same events (Parley gives it
// as the webhook URL of calls it places), so both paths run one handler. On `call.initiated` we create
// the call record and answer through Call Control with the media stream attached (our media URL, and
// the call id and single-use media token in client_state, which Telnyx echoes in the stream's `start`);
// the media socket then claims the call with that token. Call state events go to applyCarrierStatus,
// which finishes calls that never reached a runtime (those the runtime carries it finishes itself).
//
// Outbound calls (carrier-dialer.ts) are dialled with the media stream attached: its URL carries the
// call id and a media token issued at dial time, which Call Control also sends as client_state. Their
// webhooks come to the status URL with our call id in the path, so an event that beats the dial's
// answer still finds its call. That media URL holds a token, so the media route logs at `warn` only.
//
// Authentication: every event is signed with Ed25519 over `${telnyx-timestamp}|${raw body}`, checked
// with the `publicKey` of the number's Telnyx credential (the key from the portal's Keys & Credentials
// page); the API key of the same credential answers and hangs up. So this scope keeps JSON bodies as the
// raw string (re-serialised JSON would not verify), in its own encapsulated parser.
//
// Refusals: a number no organization has cannot be verified or hung up (there is no API key), so the
// event is only acknowledged and Telnyx ends the unanswered call itself. A registered number that no
// agent takes is hung up through Call Control.
import {
  beginInboundCall,
  carrierWebhookPaths,
  findCallCarrier,
  resolveInboundRoute,
} from '@parley/services';
import {
  parseTelnyxWebhookEvent,
  TelephonyError,
  TELNYX_SIGNATURE_HEADER,
  TELNYX_TIMESTAMP_HEADER,
  TelnyxCallControl,
  TelnyxMediaError,
  TelnyxMediaTransport,
  verifyTelnyxSignature,
  type TelnyxWebhookEvent,
} from '@parley/telephony';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { actOnMachineVerdict } from './machine-verdict.js';
import { carrierSecret, mediaBaseForNewCall, nowOf, type TelephonyEnv } from './telephony-env.js';
import { claimAndCarry } from './claim-and-carry.js';
import { assistantRequestEnv } from './assistant-request-env.js';
import { applyCarrierStatusReported, ringOrRefuseInbound } from '../live/status-change-reports.js';

const CARRIER = 'telnyx';
const PATHS = carrierWebhookPaths(CARRIER);
/** Telnyx sends `connected` and `start` at once; a socket that says nothing is not a Telnyx stream. */
const START_TIMEOUT_MS = 10_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface TelnyxRouteOptions {
  /**
   * Carrier REST endpoints by carrier id (`telnyx` → `https://api.telnyx.com` by default): a regional
   * endpoint, a proxy, or a simulator in tests.
   */
  carrierApiUrls?: Readonly<Record<string, string>>;
}

const header = (request: FastifyRequest, name: string): string | undefined => {
  const value = request.headers[name];
  return typeof value === 'string' ? value : undefined;
};

/** Mounts the routes in their own scope, whose JSON bodies stay raw strings for signature checks. */
export function telnyxRoutes(
  app: FastifyInstance,
  env: TelephonyEnv,
  options: TelnyxRouteOptions = {},
): void {
  void app.register(async (scope) => {
    scope.removeContentTypeParser('application/json');
    scope.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
      done(null, body);
    });
    mountTelnyxRoutes(scope, env, options);
  });
}

function mountTelnyxRoutes(app: FastifyInstance, env: TelephonyEnv, options: TelnyxRouteOptions): void {
  const { deps, logger } = env;
  const log = logger.child({ carrier: CARRIER });
  const baseUrl = options.carrierApiUrls?.[CARRIER];

  const control = (secret: Record<string, string>) =>
    new TelnyxCallControl({
      apiKey: secret['apiKey'] ?? '',
      // Only dialling needs the application id; answering and hanging up name the call.
      connectionId: '',
      ...(baseUrl ? { baseUrl } : {}),
    });
  const forbidden = (reply: FastifyReply, why: string, fields: Record<string, unknown> = {}) => {
    log.warn({ ...fields, why }, 'refused a Telnyx request');
    return reply.code(403).send({ error: { code: 'forbidden', message: 'Signature check failed' } });
  };
  /** Null when the signature holds; otherwise why not (safe to log). */
  const signatureProblem = (request: FastifyRequest, rawBody: string, secret: Record<string, string>) => {
    const publicKey = secret['publicKey'];
    if (!publicKey) return 'the Telnyx credential has no publicKey to verify webhooks with';
    const result = verifyTelnyxSignature({
      rawBody,
      signature: header(request, TELNYX_SIGNATURE_HEADER),
      timestamp: header(request, TELNYX_TIMESTAMP_HEADER),
      publicKey,
      nowSeconds: Math.floor(nowOf(deps).getTime() / 1000),
    });
    return result.ok ? null : result.reason;
  };

  const incomingCall = async (
    request: FastifyRequest,
    reply: FastifyReply,
    rawBody: string,
    event: TelnyxWebhookEvent,
  ) => {
    const callControlId = event.callControlId;
    if (!callControlId || !event.to) {
      return reply
        .code(400)
        .send({ error: { code: 'invalid_request', message: 'call_control_id and to are required' } });
    }
    const route = await resolveInboundRoute(deps, CARRIER, event.to);
    if (route.reason === 'unknown_number') {
      // Nothing to verify with and no API key to hang up with: Telnyx ends the unanswered call.
      log.warn({ reason: route.reason }, 'inbound call to a number no organization has');
      return reply.code(200).send({ ok: true });
    }
    if (!route.credentialId) {
      return forbidden(reply, 'the number has no credential to verify Telnyx with', {
        phoneNumberId: route.phoneNumberId,
      });
    }
    const secret = await carrierSecret(deps, route.organizationId, route.credentialId);
    const problem = signatureProblem(request, rawBody, secret);
    if (problem) return forbidden(reply, problem, { phoneNumberId: route.phoneNumberId });
    if (route.reason !== null) {
      log.warn(
        { reason: route.reason, organizationId: route.organizationId, phoneNumberId: route.phoneNumberId },
        'inbound call rejected: no agent takes this number',
      );
      await control(secret)
        .hangUp(callControlId)
        .catch((error: unknown) => {
          if (!(error instanceof TelephonyError)) throw error;
          log.warn({ code: error.code, phoneNumberId: route.phoneNumberId }, 'could not hang up the call');
        });
      return reply.code(200).send({ ok: true });
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
        carrierCallId: callControlId,
        from: event.from ?? '',
        to: event.to,
      },
      nowOf(deps),
      // A call no runtime can take is refused at once: its assistant request hook is not asked.
      mediaBase ? assistantRequestEnv(env) : undefined,
    );
    const call = { id: callId, organizationId: route.organizationId, agentId };
    if ((await ringOrRefuseInbound(env, call, mediaBase !== null, log)) === 'refused') {
      // No runtime can carry it (all draining or gone): hung up unanswered, as numbers no agent takes.
      await control(secret)
        .hangUp(callControlId)
        .catch((error: unknown) => {
          if (!(error instanceof TelephonyError)) throw error;
          log.warn({ callId, code: error.code }, 'could not hang up the call');
        });
      return reply.code(200).send({ ok: true });
    }
    try {
      await control(secret).answer(callControlId, {
        streamUrl: `${mediaBase}${PATHS.media}/${callId}`,
        clientState: { callId, token: mediaToken },
      });
    } catch (error) {
      if (!(error instanceof TelephonyError)) throw error;
      // The call stays ringing: a redelivered call.initiated answers it again, a call.hangup ends it.
      log.warn({ callId, code: error.code, why: error.message }, 'could not answer the call');
      return reply.code(502).send({ error: { code: 'carrier_error', message: 'Telnyx refused the answer' } });
    }
    log.info({ callId, organizationId: route.organizationId }, 'inbound call answered with a media stream');
    return reply.code(200).send({ ok: true });
  };

  const callEvent = async (
    request: FastifyRequest,
    reply: FastifyReply,
    rawBody: string,
    event: TelnyxWebhookEvent,
  ) => {
    if (!event.callControlId) {
      // Not about a call (nothing to verify it with either): acknowledged, ignored.
      return reply.code(200).send({ ok: true });
    }
    const call = await findCallCarrier(deps.db, { carrier: CARRIER, carrierCallId: event.callControlId });
    if (!call?.credentialId) {
      log.warn({ eventType: event.eventType }, 'event for a call Parley does not have');
      return reply.code(404).send({ error: { code: 'call_not_found', message: 'No such call' } });
    }
    const secret = await carrierSecret(deps, call.organizationId, call.credentialId);
    const problem = signatureProblem(request, rawBody, secret);
    if (problem) return forbidden(reply, problem, { callId: call.callId });
    if (event.update) {
      const applied = await applyCarrierStatusReported(env, CARRIER, event.update);
      log.info(
        { callId: call.callId, eventType: event.eventType, status: applied?.status },
        'call status from Telnyx',
      );
      if (applied) await actOnMachineVerdict(env, applied.callId, event.update);
    }
    return reply.code(200).send({ ok: true });
  };

  const webhook = async (request: FastifyRequest, reply: FastifyReply) => {
    const rawBody = typeof request.body === 'string' ? request.body : '';
    const parsed = parseTelnyxWebhookEvent(rawBody);
    if (!parsed.ok) {
      return reply.code(400).send({ error: { code: 'invalid_request', message: parsed.reason } });
    }
    // What the body says is only read to find the credential; nothing is acted on before verification.
    const { event } = parsed;
    if (event.eventType === 'call.initiated' && event.direction === 'incoming') {
      return incomingCall(request, reply, rawBody, event);
    }
    return callEvent(request, reply, rawBody, event);
  };

  /** Webhooks of a call we dialled: found by our call id, verified with its number's credential. */
  const outboundWebhook = async (request: FastifyRequest, reply: FastifyReply) => {
    const { callId } = request.params as { callId: string };
    const rawBody = typeof request.body === 'string' ? request.body : '';
    const parsed = parseTelnyxWebhookEvent(rawBody);
    if (!parsed.ok) {
      return reply.code(400).send({ error: { code: 'invalid_request', message: parsed.reason } });
    }
    const { event } = parsed;
    const call = UUID.test(callId) ? await findCallCarrier(deps.db, { callId }) : null;
    if (!call?.credentialId || call.carrier !== CARRIER) {
      log.warn({ eventType: event.eventType }, 'event for a call Parley does not have');
      return reply.code(404).send({ error: { code: 'call_not_found', message: 'No such call' } });
    }
    const secret = await carrierSecret(deps, call.organizationId, call.credentialId);
    const problem = signatureProblem(request, rawBody, secret);
    if (problem) return forbidden(reply, problem, { callId });
    if (event.update) {
      const applied = await applyCarrierStatusReported(env, CARRIER, event.update, { callId });
      log.info({ callId, eventType: event.eventType, status: applied?.status }, 'call status from Telnyx');
      if (applied) await actOnMachineVerdict(env, applied.callId, event.update);
    }
    return reply.code(200).send({ ok: true });
  };

  app.post(PATHS.inbound, webhook);
  app.post(PATHS.status, webhook);
  app.post(`${PATHS.status}/:callId`, outboundWebhook);

  /** Call Control for the call a media socket belongs to, found before the upgrade. */
  const controls = new WeakMap<object, TelnyxCallControl>();

  app.get(
    `${PATHS.media}/:callId`,
    {
      // An outbound call's media URL carries its token: Fastify's request lines (which print it) stay out.
      logLevel: 'warn',
      websocket: true,
      // Runs before the upgrade: a socket for no Telnyx call gets a plain 403 and never opens.
      preValidation: async (request, reply) => {
        const { callId } = request.params as { callId: string };
        const call = UUID.test(callId) ? await findCallCarrier(deps.db, { callId }) : null;
        if (!call || call.carrier !== CARRIER || !call.credentialId) {
          return forbidden(reply, 'media socket for an unknown call');
        }
        // Closing a Call Control stream does not end the call: hanging up goes through the API.
        const secret = await carrierSecret(deps, call.organizationId, call.credentialId);
        controls.set(request.raw, control(secret));
        return undefined;
      },
    },
    (socket, request) => {
      const { callId } = request.params as { callId: string };
      const callControl = controls.get(request.raw);
      controls.delete(request.raw);
      void (async () => {
        let accepted;
        try {
          accepted = await TelnyxMediaTransport.accept(socket, {
            startTimeoutMs: START_TIMEOUT_MS,
            ...(callControl ? { callControl } : {}),
          });
        } catch (error) {
          if (!(error instanceof TelnyxMediaError)) throw error;
          log.warn({ callId, code: error.code }, 'media stream refused before start');
          return;
        }
        const { transport, start } = accepted;
        const mediaToken = start.customParameters['token'] ?? '';
        await claimAndCarry(
          env,
          { callId, mediaToken, carrier: CARRIER, simulated: false },
          transport,
          () => {
            log.warn({ callId }, 'media stream with a token that is not this call’s: closed');
            // Only the socket is closed: the call it claimed to be is not this socket's to end.
            socket.close(1008, 'unauthorised');
          },
        );
      })().catch((error: unknown) => {
        log.error({ err: error, callId }, 'media stream failed');
        socket.close();
      });
    },
  );
}
