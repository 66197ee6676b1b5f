// The call routes Plivo and its clone Vobiz share: the answer webhook that streams an inbound call to
// our media socket, the answer URL of an outbound call (fetched once the callee picks up), the
// ring/hangup/status callbacks, and the media WebSocket itself. The carriers
// differ only in their signature scheme, a `<Stream>` attribute and the media formats they serve, so
// plivo-routes.ts and vobiz-routes.ts each describe their carrier and this file does the rest.
//
// Authentication: webhooks are believed only after the carrier's signature checks out with the auth
// token of the number's credential, over the URL the operator configured (the public URL). The media
// socket's upgrade carries no signature we can check (Plivo signs it only "if configured", in an
// undocumented format; Vobiz does not document one), so the socket is authenticated by the single-use
// media token our answer document hands the carrier, which the `start` message echoes back.
//
// Plivo's createCall returns a request uuid, which the dialer stores as the call's carrier id, while
// the callbacks of the answered call name it by its CallUUID (with the request uuid beside it). The
// outbound routes, which know our call id from their path, re-key the call to its CallUUID, so that
// later callbacks and hang-ups name the call Plivo knows. (Vobiz's request uuid is the call uuid.)
import {
  beginInboundCall,
  carrierWebhookPaths,
  findCallCarrier,
  issueMediaToken,
  rekeyCarrierCall,
  resolveInboundRoute,
} from '@parley/services';
import {
  parsePlivoAnswerRequest,
  parsePlivoStatusCallback,
  PlivoMediaError,
  type PlivoAcceptOptions,
  type PlivoAccepted,
  type PlivoAnswerDocument,
  type PlivoDialDocumentOptions,
  type PlivoRejectDocumentOptions,
  type PlivoSignedRequest,
  type PlivoStreamDocumentOptions,
} from '@parley/telephony';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import { outboundAnswerPath, outboundStatusPath } from './carrier-dialer.js';
import { actOnMachineVerdict } from './machine-verdict.js';
import { carrierSecret, mediaBaseForNewCall, nowOf, type TelephonyEnv } from './telephony-env.js';
import { claimAndCarry } from './claim-and-carry.js';
import { assistantRequestEnv } from './assistant-request-env.js';
import { transferDocumentPath, transferDocumentUrl } from './transfer-document-url.js';
import {
  applyCarrierStatusReported,
  refuseCallReported,
  ringOrRefuseInbound,
} from '../live/status-change-reports.js';

/** What the routes need to know about one carrier of the Plivo family. */
export interface PlivoFamilyCarrier {
  carrier: 'plivo' | 'vobiz';
  /** For log messages. */
  label: string;
  streamDocument(options: PlivoStreamDocumentOptions): PlivoAnswerDocument;
  rejectDocument(options: PlivoRejectDocumentOptions): PlivoAnswerDocument;
  /** What a transferred call does: dial the destination. */
  dialDocument(options: PlivoDialDocumentOptions): PlivoAnswerDocument;
  verifySignature(request: PlivoSignedRequest): boolean;
  acceptMedia(socket: WebSocket, options: PlivoAcceptOptions): Promise<PlivoAccepted>;
}

/** The carrier sends `start` as soon as the socket opens; a socket that says nothing is not its stream. */
const START_TIMEOUT_MS = 10_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DIGITS_ONLY_NUMBER = /^[1-9][0-9]{7,14}$/;
const E164 = /^\+[1-9][0-9]{6,14}$/;

/** Spoken to callers of a number no agent takes; never names the business or the reason. */
const NOT_IN_SERVICE = 'Sorry, this number cannot take your call right now. Please try again later. Goodbye.';

type FormBody = Record<string, string>;

/** Ends an answered call that has nothing left to connect to (canceled, or over before it was answered). */
const HANG_UP_DOCUMENT: PlivoAnswerDocument = {
  contentType: 'application/xml',
  body: '<?xml version="1.0" encoding="UTF-8"?><Response><Hangup/></Response>',
};

/** No runtime can carry a new call (all draining or gone): the caller hears a busy tone. */
const BUSY_DOCUMENT: PlivoAnswerDocument = {
  contentType: 'application/xml',
  body: '<?xml version="1.0" encoding="UTF-8"?><Response><Hangup reason="busy"/></Response>',
};

/**
 * Plivo writes numbers in E.164 without the `+` (`To=14155550100`); Parley stores them with it. A
 * number that already has it, or is not a plain number at all (a SIP URI), is left as it is.
 */
export function plivoNumberToE164(number: string): string {
  return DIGITS_ONLY_NUMBER.test(number) ? `+${number}` : number;
}

// `extraHeaders` allow letters and digits only, and our call ids (UUIDs) and media tokens (base64url)
// have other characters, so both travel hex-encoded and are decoded when the `start` echoes them.

/** A value as letters and digits: the hex of its UTF-8 bytes. */
export function encodeExtraHeaderValue(value: string): string {
  return Buffer.from(value, 'utf8').toString('hex');
}

/** The inverse of encodeExtraHeaderValue; null for anything that is not even-length hex. */
export function decodeExtraHeaderValue(encoded: string | undefined): string | null {
  if (!encoded || encoded.length % 2 !== 0 || !/^[0-9a-f]+$/i.test(encoded)) return null;
  return Buffer.from(encoded, 'hex').toString('utf8');
}

/**
 * The media token a Plivo-family stream presents for `callId`: its extraHeaders must echo that call id,
 * and the token is decoded from them. Null when the stream names another call or has no token.
 */
export function plivoFamilyMediaToken(
  start: { customParameters: Record<string, string> },
  callId: string,
): string | null {
  if (decodeExtraHeaderValue(start.customParameters['callId']) !== callId) return null;
  return decodeExtraHeaderValue(start.customParameters['token']);
}

export function plivoFamilyRoutes(app: FastifyInstance, env: TelephonyEnv, family: PlivoFamilyCarrier): void {
  const { deps, logger } = env;
  const { carrier, label } = family;
  const paths = carrierWebhookPaths(carrier);
  const log = logger.child({ carrier });

  const xml = (reply: FastifyReply, document: PlivoAnswerDocument) =>
    reply.header('content-type', `${document.contentType}; charset=utf-8`).send(document.body);
  const rejection = () => family.rejectDocument({ message: NOT_IN_SERVICE });
  const forbidden = (reply: FastifyReply, why: string, fields: Record<string, unknown> = {}) => {
    log.warn({ ...fields, why }, `refused a ${label} request`);
    return reply.code(403).send({ error: { code: 'forbidden', message: 'Signature check failed' } });
  };
  const invalid = (reply: FastifyReply, message: string) =>
    reply.code(400).send({ error: { code: 'invalid_request', message } });
  const signedUrlValid = (request: FastifyRequest, url: string, authToken: string | undefined) =>
    family.verifySignature({
      url,
      method: request.method,
      params: request.body as FormBody,
      headers: request.headers,
      authToken: authToken ?? '',
    });
  const signatureValid = (request: FastifyRequest, path: string, authToken: string | undefined) =>
    signedUrlValid(request, `${deps.publicUrl}${path}`, authToken);

  app.post(paths.inbound, async (request, reply) => {
    const parsed = parsePlivoAnswerRequest((request.body ?? {}) as FormBody);
    if (!parsed.ok) return invalid(reply, parsed.reason);
    const { carrierCallId } = parsed.request;
    const to = plivoNumberToE164(parsed.request.to);
    const route = await resolveInboundRoute(deps, carrier, to);
    if (route.reason === 'unknown_number') {
      // Nothing to verify against; the answer tells the caller nothing about anyone's business.
      log.warn({ reason: route.reason }, 'inbound call to a number no organization has');
      return xml(reply, rejection());
    }
    if (!route.credentialId) {
      return forbidden(reply, `the number has no credential to verify ${label} with`, {
        phoneNumberId: route.phoneNumberId,
      });
    }
    const secret = await carrierSecret(deps, route.organizationId, route.credentialId);
    if (!signatureValid(request, paths.inbound, secret['authToken'])) {
      return forbidden(reply, 'forged or missing signature', { phoneNumberId: route.phoneNumberId });
    }
    if (route.reason !== null) {
      log.warn(
        { reason: route.reason, organizationId: route.organizationId, phoneNumberId: route.phoneNumberId },
        'inbound call rejected: no agent takes this number',
      );
      return xml(reply, rejection());
    }
    const mediaBase = await mediaBaseForNewCall(deps, env.runtime);
    const { callId, mediaToken, agentId } = await beginInboundCall(
      deps.db,
      {
        organizationId: route.organizationId,
        phoneNumberId: route.phoneNumberId,
        agentId: route.agent.id,
        agentVersion: route.agent.publishedVersion,
        carrier,
        carrierCallId,
        from: plivoNumberToE164(parsed.request.from),
        to,
      },
      nowOf(deps),
      // A call no runtime can take is refused at once: its assistant request hook is not asked.
      mediaBase ? assistantRequestEnv(env) : undefined,
    );
    const call = { id: callId, organizationId: route.organizationId, agentId };
    if ((await ringOrRefuseInbound(env, call, mediaBase !== null, log)) === 'refused') {
      return xml(reply, BUSY_DOCUMENT);
    }
    log.info({ callId, organizationId: route.organizationId }, 'inbound call answered with a media stream');
    return xml(
      reply,
      family.streamDocument({
        mediaUrl: `${mediaBase}${paths.media}/${callId}`,
        extraHeaders: {
          callId: encodeExtraHeaderValue(callId),
          token: encodeExtraHeaderValue(mediaToken),
        },
      }),
    );
  });

  // An outbound call was answered: connect it to its media stream (or hang up if it is over).
  app.post(outboundAnswerPath(carrier, ':callId'), async (request, reply) => {
    const { callId } = request.params as { callId: string };
    const params = (request.body ?? {}) as FormBody;
    const call = UUID.test(callId) ? await findCallCarrier(deps.db, { callId }) : null;
    if (!call || call.carrier !== carrier || !call.credentialId) {
      return forbidden(reply, 'answer for an unknown call');
    }
    const secret = await carrierSecret(deps, call.organizationId, call.credentialId);
    if (!signatureValid(request, outboundAnswerPath(carrier, callId), secret['authToken'])) {
      return forbidden(reply, 'forged or missing signature', { callId });
    }
    const callUuid = params['CallUUID'];
    if (callUuid) {
      // Placed under its request_uuid; from now on Plivo names the call by its CallUUID.
      await rekeyCarrierCall(
        deps.db,
        {
          callId,
          carrier,
          fromCarrierCallId: params['RequestUUID'] ?? params['ALegRequestUUID'],
          toCarrierCallId: callUuid,
        },
        nowOf(deps),
      );
    }
    const mediaBase = await mediaBaseForNewCall(deps, env.runtime);
    if (!mediaBase) {
      await refuseCallReported(env, callId);
      log.warn({ callId }, 'outbound call answered but no runtime takes calls: hung up');
      return xml(reply, HANG_UP_DOCUMENT);
    }
    const mediaToken = await issueMediaToken(deps.db, callId, nowOf(deps));
    if (!mediaToken) return xml(reply, HANG_UP_DOCUMENT);
    log.info({ callId }, 'outbound call answered; connecting its media stream');
    return xml(
      reply,
      family.streamDocument({
        mediaUrl: `${mediaBase}${paths.media}/${callId}`,
        extraHeaders: {
          callId: encodeExtraHeaderValue(callId),
          token: encodeExtraHeaderValue(mediaToken),
        },
      }),
    );
  });

  // A transfer the agent made: the carrier fetches what the call should do now (dial the destination).
  app.post(transferDocumentPath(carrier, ':carrierCallId'), async (request, reply) => {
    const { carrierCallId } = request.params as { carrierCallId: string };
    const { to } = request.query as { to?: string };
    const call = await findCallCarrier(deps.db, { carrier, carrierCallId });
    if (!call?.credentialId) return forbidden(reply, 'transfer document for an unknown call');
    const secret = await carrierSecret(deps, call.organizationId, call.credentialId);
    const url = transferDocumentUrl(deps.publicUrl, carrier, carrierCallId, to ?? '');
    if (!signedUrlValid(request, url, secret['authToken'])) {
      return forbidden(reply, 'forged or missing signature', { callId: call.callId });
    }
    if (!to || !E164.test(to)) return invalid(reply, 'to must be an E.164 number');
    log.info({ callId: call.callId }, 'transferring the call');
    return xml(reply, family.dialDocument({ to }));
  });

  /** Callbacks: inbound calls' at the number's status URL, outbound calls' at one with our call id. */
  const onStatus = async (request: FastifyRequest, reply: FastifyReply) => {
    const { callId } = request.params as { callId?: string };
    const parsed = parsePlivoStatusCallback((request.body ?? {}) as FormBody);
    if (!parsed.ok) return invalid(reply, parsed.reason);
    const { update } = parsed;
    const call =
      callId === undefined
        ? await findCallCarrier(deps.db, { carrier, carrierCallId: update.carrierCallId })
        : UUID.test(callId)
          ? await findCallCarrier(deps.db, { callId })
          : null;
    if (!call?.credentialId || call.carrier !== carrier) {
      log.warn(`status callback for a call Parley does not have`);
      return reply.code(404).send({ error: { code: 'call_not_found', message: 'No such call' } });
    }
    const path = callId === undefined ? paths.status : outboundStatusPath(carrier, callId);
    const secret = await carrierSecret(deps, call.organizationId, call.credentialId);
    if (!signatureValid(request, path, secret['authToken'])) {
      return forbidden(reply, 'forged or missing signature', { callId: call.callId });
    }
    if (callId !== undefined) {
      await rekeyCarrierCall(
        deps.db,
        { callId, carrier, fromCarrierCallId: update.requestUuid, toCarrierCallId: update.carrierCallId },
        nowOf(deps),
      );
    }
    const applied = await applyCarrierStatusReported(env, carrier, update, {
      ...(callId === undefined ? {} : { callId }),
    });
    log.info(
      { callId: call.callId, status: applied?.status, event: update.event },
      `call status from ${label}`,
    );
    if (applied) await actOnMachineVerdict(env, applied.callId, update);
    return reply.code(204).send();
  };
  app.post(paths.status, onStatus);
  app.post(`${paths.status}/:callId`, onStatus);

  app.get(
    `${paths.media}/:callId`,
    {
      websocket: true,
      // Runs before the upgrade: a socket for no call of ours gets a plain 403 and never opens.
      preValidation: async (request, reply) => {
        const { callId } = request.params as { callId: string };
        const call = UUID.test(callId) ? await findCallCarrier(deps.db, { callId }) : null;
        // A call with no carrier account behind it (a simulated call has none) is nobody's call at this
        // carrier; past this, the claim opens no simulated call on a carrier's route (claimCallMedia).
        if (!call || call.carrier !== carrier || !call.credentialId) {
          return forbidden(reply, 'media socket for an unknown call');
        }
        return undefined;
      },
    },
    (socket, request) => {
      const { callId } = request.params as { callId: string };
      void (async () => {
        let accepted;
        try {
          accepted = await family.acceptMedia(socket, { startTimeoutMs: START_TIMEOUT_MS });
        } catch (error) {
          if (!(error instanceof PlivoMediaError)) throw error;
          log.warn({ callId, code: error.code }, 'media stream refused before start');
          return;
        }
        const { transport, start } = accepted;
        const refuse = async () => {
          log.warn(
            { callId },
            'media stream not authorised for this call (wrong token, or the call is over): closed',
          );
          await transport.hangUp('unauthorised');
        };
        // The echoed ids are what authenticate this socket: without the token we issued, nothing is claimed.
        const mediaToken = plivoFamilyMediaToken(start, callId);
        if (mediaToken === null) return refuse();
        await claimAndCarry(env, { callId, mediaToken, carrier, simulated: false }, transport, refuse);
      })().catch((error: unknown) => {
        log.error({ err: error, callId }, 'media stream failed');
        socket.close();
      });
    },
  );
}
