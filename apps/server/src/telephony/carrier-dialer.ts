// The services' CallDialer over the carriers' REST call control: places an outbound call on the
// carrier of its from-number with that number's credential, and hangs calls up. The carrier calls
// our answer URL when the callee picks up; that answer connects the media stream (see the routes).
import {
  carrierWebhookPaths,
  type CallDialer,
  type DialRequest,
  type HangUpRequest,
  type ServiceDeps,
} from '@parley/services';
import { TelephonyError, TwilioCallControl, type CarrierCallControl } from '@parley/telephony';
import { carrierSecret } from './telephony-env.js';

export interface CarrierDialerOptions {
  deps: ServiceDeps;
  /** Carrier REST origins replacing the carriers' own (simulators in tests), by carrier id. */
  carrierApiUrls?: Readonly<Record<string, string>>;
}

/** Where a carrier fetches the answer document of an outbound call once it is answered. */
export const outboundAnswerPath = (carrier: string, callId: string) =>
  `/webhooks/${carrier}/answer/${callId}`;

export class CarrierDialer implements CallDialer {
  constructor(private readonly options: CarrierDialerOptions) {}

  async dial(call: DialRequest): Promise<{ carrierCallId: string }> {
    const control = await this.controlFor(call);
    const { publicUrl } = this.options.deps;
    return control.createCall({
      to: call.to,
      from: call.from,
      answerUrl: `${publicUrl}${outboundAnswerPath(call.carrier, call.callId)}`,
      // Our call id in the URL: a callback that arrives before createCall returns still finds the call.
      statusCallbackUrl: `${publicUrl}${carrierWebhookPaths(call.carrier as 'twilio').status}/${call.callId}`,
    });
  }

  async hangUp(call: HangUpRequest): Promise<void> {
    const control = await this.controlFor(call);
    await control.hangUp(call.carrierCallId);
  }

  private async controlFor(call: {
    organizationId: string;
    credentialId: string;
    carrier: string;
  }): Promise<CarrierCallControl> {
    const secret = await carrierSecret(this.options.deps, call.organizationId, call.credentialId);
    const baseUrl = this.options.carrierApiUrls?.[call.carrier];
    switch (call.carrier) {
      case 'twilio':
        return new TwilioCallControl({
          accountSid: secret['accountSid'] ?? '',
          authToken: secret['authToken'] ?? '',
          ...(baseUrl ? { baseUrl } : {}),
        });
      default:
        throw new TelephonyError(
          call.carrier as 'twilio',
          'unsupported',
          `outbound calls on ${call.carrier} are not wired into this server yet`,
        );
    }
  }
}
