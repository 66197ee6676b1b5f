// The URLs a carrier must be told about, for one instance: where it asks what to do with an incoming
// call, where it reports call progress, and the WebSocket the audio streams to. The server mounts its
// carrier routes at exactly these paths, so a user can paste them from the API into the carrier's
// console and have them work.
import type { Carrier, PhoneNumberWebhooks } from '@parley/contracts';

/** The paths under the public URL; the server's webhook and media routes use the same ones. */
export const carrierWebhookPaths = (carrier: Carrier) => ({
  inbound: `/webhooks/${carrier}/inbound`,
  status: `/webhooks/${carrier}/status`,
  media: `/media/${carrier}`,
});

/**
 * What to paste where, in the words of each carrier's console. The media URL is never pasted: Parley
 * puts it in its answer to each call (with a per-call token), so it is shown for firewalls and logs.
 */
const INSTRUCTIONS: Record<Carrier, string> = {
  twilio:
    'In the Twilio Console, open Phone Numbers → Active numbers → this number. Under Voice Configuration, ' +
    'set "A call comes in" to Webhook with the inbound URL and HTTP POST, and "Call status changes" to the ' +
    'status URL (HTTP POST). Parley sends the media URL in its answer to each call.',
  exotel:
    'In Exotel’s App Bazaar, build a flow with a Voicebot applet (ask Exotel to enable it) and set the ' +
    'applet’s URL to the inbound URL: Exotel fetches it on each call and Parley answers with that call’s ' +
    'own media WebSocket URL. Then assign the flow to this ExoPhone. Parley passes the status URL itself ' +
    'on the calls it places.',
  plivo:
    'In the Plivo console, create an application under Voice → Applications with the inbound URL as its ' +
    'Answer URL and the status URL as its Hangup URL (both POST), then assign this number to that ' +
    'application. Parley sends the media URL in its answer to each call.',
  vobiz:
    'In the Vobiz console, create an application with the inbound URL as its Answer URL and the status URL ' +
    'as its Hangup URL (both POST), then assign this number to that application. Parley sends the media URL ' +
    'in its answer to each call.',
  telnyx:
    'In the Telnyx portal, create a Call Control (Voice API) application whose webhook URL is the inbound ' +
    'URL (API v2), and assign this number to it. Parley answers each call through Call Control and attaches ' +
    'the media stream itself.',
};

/**
 * The webhook URLs of a carrier on an instance reached at `publicUrl`. The media socket is `wss:` when
 * the instance is served over https and `ws:` otherwise, keeping any path prefix of the public URL.
 */
export function carrierWebhooks(publicUrl: string, carrier: Carrier): PhoneNumberWebhooks {
  const base = publicUrl.replace(/\/+$/, '');
  const socketBase = base.replace(
    /^http(s?):\/\//i,
    (_match, secure: string) => `ws${secure.toLowerCase()}://`,
  );
  const paths = carrierWebhookPaths(carrier);
  return {
    inbound: `${base}${paths.inbound}`,
    status: `${base}${paths.status}`,
    media: `${socketBase}${paths.media}`,
    instructions: INSTRUCTIONS[carrier],
  };
}
