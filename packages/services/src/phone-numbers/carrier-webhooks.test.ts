// The webhook URLs shown for each carrier: what a user pastes into the carrier console must be the
// exact address the server listens on, over the same scheme as the instance.
import { describe, expect, it } from 'vitest';
import { CARRIERS } from '@parley/contracts';
import { carrierWebhooks } from './carrier-webhooks.js';

describe('carrierWebhooks', () => {
  it('puts every carrier’s webhooks under the public URL and its media socket on ws:// for http', () => {
    for (const carrier of CARRIERS) {
      expect(carrierWebhooks('http://localhost:3000', carrier)).toMatchObject({
        inbound: `http://localhost:3000/webhooks/${carrier}/inbound`,
        status: `http://localhost:3000/webhooks/${carrier}/status`,
        media: `ws://localhost:3000/media/${carrier}`,
      });
    }
  });

  it('uses wss:// for an https instance and keeps its path, without doubling a trailing slash', () => {
    expect(carrierWebhooks('https://voice.example.com/parley//', 'telnyx')).toMatchObject({
      inbound: 'https://voice.example.com/parley/webhooks/telnyx/inbound',
      status: 'https://voice.example.com/parley/webhooks/telnyx/status',
      media: 'wss://voice.example.com/parley/media/telnyx',
    });
  });

  it('tells each carrier’s users where the URLs go, in the words of that carrier’s console', () => {
    const instructions = (carrier: (typeof CARRIERS)[number]) =>
      carrierWebhooks('https://x.test', carrier).instructions;
    expect(instructions('twilio')).toMatch(
      /"A call comes in".*inbound URL.*"Call status changes".*status URL/,
    );
    expect(instructions('exotel')).toMatch(/Voicebot applet.*inbound URL/);
    expect(instructions('telnyx')).toMatch(/Call Control.*webhook URL is the inbound URL/);
    for (const carrier of ['plivo', 'vobiz'] as const) {
      expect(instructions(carrier)).toMatch(
        /inbound URL as its Answer URL and the status URL as its Hangup URL/,
      );
    }
  });
});
