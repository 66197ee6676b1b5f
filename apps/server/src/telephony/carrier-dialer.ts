// The services' CallDialer over the carriers' REST call control: places an outbound call on the
// carrier of its from-number with that number's credential, and hangs calls up. Twilio, Plivo and
// Vobiz fetch our answer URL when the callee picks up, and that answer connects the media stream (see
// the routes). Exotel and Telnyx have no answer document: they stream the answered call straight to
// the URL it is dialled with, so that URL is our media URL carrying a media token issued now, at dial
// time (Exotel echoes its query in the stream's `start`; Telnyx's call control sends it as
// client_state, which the stream's `start` echoes). Status callbacks name our call id in the path, so
// a callback that beats the dial's answer still finds the call.
//
// A call is dialled only when some runtime can carry it (this process's, unless it is draining, or
// another live one): otherwise the dial is refused with 503 `no_runtime_available` before the carrier
// is asked, and the call ends with that reason. Exotel's and Telnyx's stream URL names the chosen
// runtime; the other carriers' answer route chooses again when the callee picks up.
//
// Answering-machine detection is asked for when the agent wants it and the carrier offers it (not
// Exotel); each carrier posts its verdict to the same status URL (Twilio's AsyncAmdStatusCallback,
// Plivo's machine_detection_url, Telnyx's call webhooks), so it is signature-checked like any status.
import {
  carrierWebhookPaths,
  DIALED_MEDIA_TOKEN_TTL_MS,
  issueMediaToken,
  ServiceError,
  type CallDialer,
  type DialRequest,
  type HangUpRequest,
  type ServiceDeps,
} from '@parley/services';
import {
  buildExotelStreamUrl,
  ExotelCallControl,
  PlivoCallControl,
  TelnyxCallControl,
  TelephonyError,
  TwilioCallControl,
  VobizCallControl,
  type CarrierCallControl,
  type TwilioCallControlOptions,
} from '@parley/telephony';
import { exotelStatusCallbackUrl } from './exotel-routes.js';
import {
  carrierSecret,
  mediaBaseForNewCall,
  nowOf,
  ownMediaBaseUrl,
  type OwnRuntime,
} from './telephony-env.js';
import { transferDocumentUrl } from './transfer-document-url.js';

export interface CarrierDialerOptions {
  deps: ServiceDeps;
  /** Carrier REST origins replacing the carriers' own (simulators in tests), by carrier id. */
  carrierApiUrls?: Readonly<Record<string, string>>;
  /**
   * The Telnyx Call Control application (connection) id calls are dialled with, for credentials that
   * do not name one (`connectionId`). Telnyx cannot place a call without it.
   */
  telnyxConnectionId?: string;
  /** This process's voice runtime (none in a process of role `api`): new calls go to it unless draining. */
  ownRuntime?: OwnRuntime | null;
}

/** Where a carrier fetches the answer document of an outbound call once it is answered. */
export const outboundAnswerPath = (carrier: string, callId: string) =>
  `/webhooks/${carrier}/answer/${callId}`;

/** Where a carrier posts the status callbacks of an outbound call: the status path with our call id. */
export const outboundStatusPath = (carrier: string, callId: string) =>
  `${carrierWebhookPaths(carrier as 'twilio').status}/${callId}`;

export class CarrierDialer implements CallDialer {
  constructor(private readonly options: CarrierDialerOptions) {}

  async dial(call: DialRequest): Promise<{ carrierCallId: string }> {
    const { deps } = this.options;
    const { publicUrl } = deps;
    const mediaBase = await mediaBaseForNewCall(deps, this.options.ownRuntime ?? null);
    if (!mediaBase) {
      throw new ServiceError(
        'no_runtime_available',
        'No voice runtime is taking new calls (all are draining or gone); the call was not placed',
        { callId: call.callId },
      );
    }
    const secret = await this.secretOf(call);
    const control = this.controlFor(call.carrier, secret);
    const amd =
      call.machineDetection && control.capabilities.machineDetection ? { machineDetection: true } : {};
    if (call.carrier === 'exotel') {
      return control.createCall({
        to: call.to,
        from: call.from,
        answerUrl: await this.streamUrlWithToken(call.carrier, call.callId, mediaBase),
        statusCallbackUrl: exotelStatusCallbackUrl(publicUrl, secret['apiToken'] ?? '', call.callId),
      });
    }
    if (call.carrier === 'telnyx') {
      if (!this.telnyxConnectionIdOf(secret)) {
        throw new TelephonyError(
          'telnyx',
          'invalid_request',
          'Telnyx needs a Call Control application id (connectionId) to place calls; none is configured',
        );
      }
      return control.createCall({
        to: call.to,
        from: call.from,
        answerUrl: await this.streamUrlWithToken(call.carrier, call.callId, mediaBase),
        statusCallbackUrl: `${publicUrl}${outboundStatusPath(call.carrier, call.callId)}`,
        ...amd,
      });
    }
    return control.createCall({
      to: call.to,
      from: call.from,
      answerUrl: `${publicUrl}${outboundAnswerPath(call.carrier, call.callId)}`,
      statusCallbackUrl: `${publicUrl}${outboundStatusPath(call.carrier, call.callId)}`,
      ...amd,
    });
  }

  /**
   * The media URL the carrier streams the answered call to, with the call id and a fresh media token
   * as query parameters (echoed in the stream's `start`), on the runtime chosen for the call.
   */
  private async streamUrlWithToken(
    carrier: 'exotel' | 'telnyx',
    callId: string,
    mediaBase: string,
  ): Promise<string> {
    const { deps } = this.options;
    // Issued now but presented only once the callee answers: it must outlive the ringing.
    const mediaToken = await issueMediaToken(deps.db, callId, nowOf(deps), {
      lifetimeMs: DIALED_MEDIA_TOKEN_TTL_MS,
    });
    if (!mediaToken) {
      throw new TelephonyError(carrier, 'invalid_request', 'the call ended before it could be dialled');
    }
    const mediaUrl = `${mediaBase}${carrierWebhookPaths(carrier).media}/${callId}`;
    if (carrier === 'telnyx') {
      const url = new URL(mediaUrl);
      url.searchParams.set('callId', callId);
      url.searchParams.set('token', mediaToken);
      return url.toString();
    }
    try {
      return buildExotelStreamUrl(mediaUrl, { customParameters: { callId, token: mediaToken } });
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
      // Only the public URL can make it too long; the message names the limit, never the URL (token).
      throw new TelephonyError('exotel', 'invalid_request', 'the media URL is too long for Exotel');
    }
  }

  async hangUp(call: HangUpRequest): Promise<void> {
    await this.controlFor(call.carrier, await this.secretOf(call)).hangUp(call.carrierCallId);
  }

  /**
   * A call's carrier control with its number's credential, for acting on the live call (transfer, keys).
   * Twilio plays keypad tones only by replacing the call's TwiML, which ends its media stream: given our
   * call id and `onStreamReplacing` (the runtime's promise to take the stream back, called just before
   * the TwiML is replaced), its control reconnects a new stream after the tones; without them Twilio
   * calls have no keypad tones.
   */
  async callControlFor(call: {
    carrier: string;
    organizationId: string;
    credentialId: string;
    callId?: string;
    onStreamReplacing?: () => void;
  }): Promise<CarrierCallControl> {
    const secret = await this.secretOf(call);
    const { callId, onStreamReplacing } = call;
    if (call.carrier !== 'twilio' || callId === undefined || onStreamReplacing === undefined) {
      return this.controlFor(call.carrier, secret);
    }
    return this.controlFor(call.carrier, secret, async () => {
      const { deps } = this.options;
      const mediaToken = await issueMediaToken(deps.db, callId, nowOf(deps));
      if (!mediaToken) {
        throw new TelephonyError('twilio', 'invalid_request', 'the call is over; no keys can be pressed');
      }
      onStreamReplacing();
      // What the answer document connected (twilio-routes), with a new single-use token: the stream
      // must come back to this process's runtime, which carries the call.
      const mediaBase = ownMediaBaseUrl(deps, this.options.ownRuntime ?? null);
      return {
        mediaUrl: `${mediaBase}${carrierWebhookPaths('twilio').media}/${callId}`,
        parameters: { callId, token: mediaToken },
      };
    });
  }

  private transferDocumentUrl(carrier: 'plivo' | 'vobiz') {
    return (to: string, carrierCallId: string) =>
      transferDocumentUrl(this.options.deps.publicUrl, carrier, carrierCallId, to);
  }

  private telnyxConnectionIdOf(secret: Record<string, string>): string | undefined {
    return secret['connectionId'] || this.options.telnyxConnectionId || undefined;
  }

  private secretOf(call: { organizationId: string; credentialId: string }): Promise<Record<string, string>> {
    return carrierSecret(this.options.deps, call.organizationId, call.credentialId);
  }

  private controlFor(
    carrier: string,
    secret: Record<string, string>,
    resumeStream?: TwilioCallControlOptions['resumeStream'],
  ): CarrierCallControl {
    const baseUrl = this.options.carrierApiUrls?.[carrier];
    const base = baseUrl ? { baseUrl } : {};
    switch (carrier) {
      case 'twilio':
        return new TwilioCallControl({
          accountSid: secret['accountSid'] ?? '',
          authToken: secret['authToken'] ?? '',
          ...base,
          ...(resumeStream ? { resumeStream } : {}),
        });
      case 'plivo':
        return new PlivoCallControl({
          authId: secret['authId'] ?? '',
          authToken: secret['authToken'] ?? '',
          transferDocumentUrl: this.transferDocumentUrl('plivo'),
          ...base,
        });
      case 'vobiz':
        return new VobizCallControl({
          authId: secret['authId'] ?? '',
          authToken: secret['authToken'] ?? '',
          transferDocumentUrl: this.transferDocumentUrl('vobiz'),
          ...base,
        });
      case 'exotel':
        return new ExotelCallControl({
          accountSid: secret['accountSid'] ?? '',
          apiKey: secret['apiKey'] ?? '',
          apiToken: secret['apiToken'] ?? '',
          // The credential names the account's API cluster (api.exotel.com or api.in.exotel.com).
          baseUrl: baseUrl ?? `https://${secret['subdomain'] || 'api.exotel.com'}`,
        });
      case 'telnyx':
        return new TelnyxCallControl({
          apiKey: secret['apiKey'] ?? '',
          // Only dialling needs it (checked there); hanging up names the call.
          connectionId: this.telnyxConnectionIdOf(secret) ?? '',
          ...base,
        });
      default:
        throw new TelephonyError(
          carrier as 'twilio',
          'unsupported',
          `outbound calls on ${carrier} are not wired into this server yet`,
        );
    }
  }
}
