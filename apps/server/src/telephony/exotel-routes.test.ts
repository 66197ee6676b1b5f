// The values an operator configures in Exotel by hand must be exactly what the routes check: the URL
// token (computed with the openssl command in exotel-routes.ts's header) and the dialled number forms.
import { describe, expect, it } from 'vitest';
import { exotelNumberCandidates, exotelStatusCallbackUrl, exotelWebhookToken } from './exotel-routes.js';

describe('exotelWebhookToken', () => {
  it('matches the documented openssl command', () => {
    // printf %s 'parley exotel webhook' | openssl dgst -sha256 -hmac 'exotel-api-token-0123456789abcdef'
    //   -binary | base64 | tr '+/' '-_' | tr -d '='
    expect(exotelWebhookToken('exotel-api-token-0123456789abcdef')).toBe(
      'ye_nlSL3ETs5fIHZ-5QeWToIgyGK4xBm8CWBFFeKV3A',
    );
  });

  it('differs between credentials and never contains the API token', () => {
    const token = exotelWebhookToken('token-a');
    expect(token).not.toBe(exotelWebhookToken('token-b'));
    expect(token).not.toContain('token-a');
  });

  it('is what a status callback URL carries', () => {
    const url = new URL(exotelStatusCallbackUrl('https://parley.example.com', 'token-a'));
    expect(url.pathname).toBe('/webhooks/exotel/status');
    expect(url.searchParams.get('token')).toBe(exotelWebhookToken('token-a'));
  });
});

describe('exotelNumberCandidates', () => {
  it('reads Indian national and plus-less forms as E.164', () => {
    expect(exotelNumberCandidates('08047491899')).toEqual(['08047491899', '+918047491899']);
    expect(exotelNumberCandidates('918047491899')).toEqual(['918047491899', '+918047491899']);
  });

  it('keeps an E.164 number as it is', () => {
    expect(exotelNumberCandidates('+918047491899')).toEqual(['+918047491899']);
  });
});
