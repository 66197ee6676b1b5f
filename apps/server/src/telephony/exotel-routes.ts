// Exotel's side of a phone call: the Voicebot applet's per-call URL, the status callback, and the
// media WebSocket (AgentStream).
//
// How a call reaches us: the operator's App Bazaar flow has a Voicebot applet whose URL is our inbound
// URL. Exotel fetches it for every call (GET, call details as query parameters) and we answer
// `{"url": "wss://…/media/exotel/<callId>?callId=…&token=…"}`: the call's own media URL, whose query
// parameters Exotel echoes in the stream's `start.custom_parameters`. The media socket is believed
// once that single-use media token claims the call (claimCallMedia).
//
// Authentication. Exotel signs nothing, so the operator puts a secret into the URL they configure, and
// we check it against the credential of the dialled number (exotel/webhook.ts). Either works:
//   - a URL token: `https://<host>/webhooks/exotel/inbound?token=<T>` where
//       T = base64url(HMAC-SHA256(key = the credential's apiToken, message = "parley exotel webhook"))
//     i.e. `printf %s 'parley exotel webhook' | openssl dgst -sha256 -hmac "$EXOTEL_API_TOKEN" -binary
//           | base64 | tr '+/' '-_' | tr -d '='`
//     (a derived value, so the API token itself never sits in Exotel's flow or anyone's access log);
//   - Basic auth: `https://<apiKey>:<apiToken>@<host>/webhooks/exotel/inbound`, which Exotel documents
//     for wss:// applet URLs (sent as `Authorization: Basic`); whether it does so for the https URL
//     it fetches is not confirmed, so the token is the recommended form.
// Status callbacks (`/webhooks/exotel/status`) are checked the same way; Parley puts the token in the
// StatusCallback URLs it gives Exotel (see exotelStatusCallbackUrl).
//
// Outbound calls (carrier-dialer.ts) are dialled with the call's media URL, carrying a media token
// issued at dial time, as their StreamUrl; their StatusCallback is `/webhooks/exotel/status/<callId>`
// with the URL token, so a callback that beats the dial's answer still finds its call.
//
// These URLs carry tokens and Exotel's query carries phone numbers, so their routes log at `warn`:
// Fastify's per-request lines (which print the URL) are left out.
import { createHmac } from 'node:crypto';
import {
  beginInboundCall,
  carrierWebhookPaths,
  findCallCarrier,
  resolveInboundRoute,
  type InboundRoute,
} from '@parley/services';
import {
  buildExotelStreamUrl,
  ExotelMediaError,
  ExotelMediaTransport,
  exotelStreamUrlResponse,
  parseExotelAppletRequest,
  parseExotelStatusCallback,
  verifyExotelBasicAuth,
  verifyExotelUrlToken,
} from '@parley/telephony';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { carrierSecret, mediaBaseForNewCall, nowOf, type TelephonyEnv } from './telephony-env.js';
import { claimAndCarry } from './claim-and-carry.js';
import { assistantRequestEnv } from './assistant-request-env.js';
import { applyCarrierStatusReported, ringOrRefuseInbound } from '../live/status-change-reports.js';

const CARRIER = 'exotel';
const PATHS = carrierWebhookPaths(CARRIER);
/** Exotel sends `start` at once; a socket that says nothing is not an Exotel stream. */
const START_TIMEOUT_MS = 10_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Keeps Fastify's request lines (which print URLs with tokens and phone numbers) out of the logs. */
const QUIET = { logLevel: 'warn' } as const;
const TOKEN_MESSAGE = 'parley exotel webhook';
/** The query parameter holding the URL token. */
export const EXOTEL_TOKEN_PARAMETER = 'token';

/** The URL token for a credential: derived from its API token, so that token never appears in URLs. */
export function exotelWebhookToken(apiToken: string): string {
  return createHmac('sha256', apiToken).update(TOKEN_MESSAGE).digest('base64url');
}

/**
 * The StatusCallback URL for calls on a credential (for whoever places Exotel calls); with our call id
 * in the path for an outbound call, so a callback that beats the dial's answer still finds its call.
 */
export function exotelStatusCallbackUrl(publicUrl: string, apiToken: string, callId?: string): string {
  const url = new URL(`${publicUrl}${PATHS.status}${callId === undefined ? '' : `/${callId}`}`);
  url.searchParams.set(EXOTEL_TOKEN_PARAMETER, exotelWebhookToken(apiToken));
  return url.toString();
}

/**
 * The numbers an ExoPhone may be registered as. Exotel's webhooks often give Indian numbers in
 * national form (`08047491899`) or without the plus (`918047491899`); Parley registers E.164.
 */
export function exotelNumberCandidates(number: string): string[] {
  const trimmed = number.trim();
  if (trimmed.startsWith('+')) return [trimmed];
  const candidates = [trimmed];
  if (/^0\d{10}$/.test(trimmed)) candidates.push(`+91${trimmed.slice(1)}`);
  if (/^[1-9]\d{10,14}$/.test(trimmed)) candidates.push(`+${trimmed}`);
  return candidates;
}

type Fields = Record<string, unknown>;

function fieldsOf(request: FastifyRequest): Fields {
  const query = (request.query ?? {}) as Fields;
  const body = request.body;
  // A POSTed form (or JSON) wins over the query; the URL token stays in the query either way.
  return typeof body === 'object' && body !== null && !Array.isArray(body)
    ? { ...query, ...(body as Fields) }
    : query;
}

export function exotelRoutes(app: FastifyInstance, env: TelephonyEnv): void {
  const { deps, logger } = env;
  const log = logger.child({ carrier: CARRIER });

  const forbidden = (reply: FastifyReply, why: string, fields: Record<string, unknown> = {}) => {
    log.warn({ ...fields, why }, 'refused an Exotel request');
    return reply
      .code(403)
      .send({ error: { code: 'forbidden', message: 'Missing or wrong Exotel URL token or Basic auth' } });
  };
  /** Whether the request carries the URL token or Basic auth of this credential. */
  const authorised = (request: FastifyRequest, secret: Record<string, string>): boolean => {
    const apiToken = secret['apiToken'] ?? '';
    if (apiToken === '') return false;
    const token = ((request.query ?? {}) as Fields)[EXOTEL_TOKEN_PARAMETER];
    if (typeof token === 'string' && verifyExotelUrlToken(token, exotelWebhookToken(apiToken))) return true;
    return verifyExotelBasicAuth(request.headers.authorization, {
      username: secret['apiKey'] ?? '',
      password: apiToken,
    });
  };
  /** The route of the dialled number, and the number as it was registered (E.164). */
  const resolveRoute = async (to: string): Promise<{ route: InboundRoute; number: string }> => {
    let route: InboundRoute | undefined;
    for (const number of exotelNumberCandidates(to)) {
      route = await resolveInboundRoute(deps, CARRIER, number);
      if (route.reason !== 'unknown_number') return { route, number };
    }
    // exotelNumberCandidates always returns the number itself, so the loop ran at least once.
    return { route: route!, number: to };
  };

  const inbound = async (request: FastifyRequest, reply: FastifyReply) => {
    const applet = parseExotelAppletRequest(fieldsOf(request));
    if (!applet?.to) {
      return reply
        .code(400)
        .send({ error: { code: 'invalid_request', message: 'CallSid and CallTo are required' } });
    }
    const { route, number } = await resolveRoute(applet.to);
    if (route.reason === 'unknown_number') {
      // A Voicebot applet needs a stream URL; without one Exotel moves on in the flow. Nothing is said
      // about whose number it is.
      log.warn({ reason: route.reason }, 'inbound call to a number no organization has');
      return reply
        .code(404)
        .send({ error: { code: 'number_not_found', message: 'This number is not in service' } });
    }
    if (!route.credentialId) {
      return forbidden(reply, 'the number has no credential to verify Exotel with', {
        phoneNumberId: route.phoneNumberId,
      });
    }
    const secret = await carrierSecret(deps, route.organizationId, route.credentialId);
    if (!authorised(request, secret)) {
      return forbidden(reply, 'missing or wrong URL token', { phoneNumberId: route.phoneNumberId });
    }
    if (route.reason !== null) {
      log.warn(
        { reason: route.reason, organizationId: route.organizationId, phoneNumberId: route.phoneNumberId },
        'inbound call rejected: no agent takes this number',
      );
      return reply
        .code(503)
        .send({ error: { code: 'not_in_service', message: 'No agent takes calls to this number' } });
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
        carrierCallId: applet.callSid,
        from: applet.from,
        to: number,
      },
      nowOf(deps),
      // A call no runtime can take is refused at once: its assistant request hook is not asked.
      mediaBase ? assistantRequestEnv(env) : undefined,
    );
    const call = { id: callId, organizationId: route.organizationId, agentId };
    if ((await ringOrRefuseInbound(env, call, mediaBase !== null, log)) === 'refused') {
      // No runtime can carry it (all draining or gone): without a stream URL the applet fails and
      // Exotel goes on in the flow.
      return reply
        .code(503)
        .send({ error: { code: 'no_runtime_available', message: 'No runtime takes new calls right now' } });
    }
    let streamUrl: string;
    try {
      streamUrl = buildExotelStreamUrl(`${mediaBase}${PATHS.media}/${callId}`, {
        customParameters: { callId, token: mediaToken },
      });
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
      // Only the public URL can make it too long; the message names the limit, not the URL.
      log.error({ callId, why: error.message }, 'cannot give Exotel a stream URL');
      return reply
        .code(500)
        .send({ error: { code: 'internal', message: 'The media URL is too long for Exotel' } });
    }
    log.info({ callId, organizationId: route.organizationId }, 'inbound call answered with a media URL');
    const answer = exotelStreamUrlResponse(streamUrl);
    return reply.code(answer.status).header('content-type', answer.contentType).send(answer.body);
  };

  app.get(PATHS.inbound, QUIET, inbound);
  app.post(PATHS.inbound, QUIET, inbound);

  /** Status callbacks: inbound calls' at the status URL, outbound calls' at one with our call id. */
  const onStatus = async (request: FastifyRequest, reply: FastifyReply) => {
    const { callId } = request.params as { callId?: string };
    const parsed = parseExotelStatusCallback(fieldsOf(request));
    if (!parsed.ok) {
      return reply.code(400).send({ error: { code: 'invalid_request', message: parsed.reason } });
    }
    const { update } = parsed;
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
    if (!authorised(request, secret)) {
      return forbidden(reply, 'missing or wrong URL token', { callId: call.callId });
    }
    const applied = await applyCarrierStatusReported(env, CARRIER, update, {
      ...(callId === undefined ? {} : { callId }),
    });
    log.info({ callId: call.callId, status: applied?.status }, 'call status from Exotel');
    return reply.code(204).send();
  };
  app.post(PATHS.status, QUIET, onStatus);
  app.post(`${PATHS.status}/:callId`, QUIET, onStatus);

  app.get(
    `${PATHS.media}/:callId`,
    {
      ...QUIET,
      websocket: true,
      // Runs before the upgrade: a socket for no Exotel call gets a plain 403 and never opens.
      preValidation: async (request, reply) => {
        const { callId } = request.params as { callId: string };
        const call = UUID.test(callId) ? await findCallCarrier(deps.db, { callId }) : null;
        // A call with no carrier account behind it (a simulated call has none) is nobody's call at this
        // carrier; past this, the claim opens no simulated call on a carrier's route (claimCallMedia).
        if (!call || call.carrier !== CARRIER || !call.credentialId) {
          return forbidden(reply, 'media socket for an unknown call');
        }
        return undefined;
      },
    },
    (socket, request) => {
      const { callId } = request.params as { callId: string };
      const queryToken = ((request.query ?? {}) as Fields)['token'];
      void (async () => {
        let accepted;
        try {
          accepted = await ExotelMediaTransport.accept(socket, { startTimeoutMs: START_TIMEOUT_MS });
        } catch (error) {
          if (!(error instanceof ExotelMediaError)) throw error;
          log.warn({ callId, code: error.code }, 'media stream refused before start');
          return;
        }
        const { transport, start } = accepted;
        // Exotel echoes the URL's query in custom_parameters; the query itself is the fallback.
        const mediaToken =
          start.customParameters['token'] ?? (typeof queryToken === 'string' ? queryToken : '');
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
