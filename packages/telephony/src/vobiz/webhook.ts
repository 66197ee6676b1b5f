// Vobiz's HTTP side (wire-protocols.md §3.2). Its XML and callback fields are Plivo's (plivo/webhook.ts
// does the work); what differs is the `<Stream maxRetries>` attribute and the signature scheme:
// X-Vobiz-Signature-V3 = base64(HMAC-SHA256(authToken, urlWithoutQuery + "." + nonce)), V2 the same
// without the "." (docs.vobiz.ai/concepts/validating-callbacks). Unlike Plivo's, neither covers the
// POST body, so body fields are not authenticated: the media token in `extraHeaders` still is.
import {
  plivoSignaturesMatch,
  buildPlivoDialDocument,
  buildPlivoRejectDocument,
  plivoHeaderValue,
  parsePlivoAnswerRequest,
  parsePlivoStatusCallback,
  plivoStreamDocument,
} from '../plivo/webhook.js';
import type {
  PlivoAnswerDocument,
  PlivoDialDocumentOptions,
  PlivoRejectDocumentOptions,
  PlivoRequestHeaders,
  PlivoSignedRequest,
  PlivoStreamDocumentOptions,
} from '../plivo/webhook.js';
import { createHmac } from 'node:crypto';

export interface VobizStreamDocumentOptions extends PlivoStreamDocumentOptions {
  /** Reconnect attempts (0–10) if the socket fails or drops; each sends a fresh `start`. Default 0. */
  maxRetries?: number;
}

export function buildVobizStreamDocument(options: VobizStreamDocumentOptions): PlivoAnswerDocument {
  const { maxRetries } = options;
  if (maxRetries !== undefined && !(Number.isInteger(maxRetries) && maxRetries >= 0 && maxRetries <= 10)) {
    throw new RangeError(`maxRetries must be an integer from 0 to 10, got ${maxRetries}`);
  }
  return plivoStreamDocument(options, { maxRetries });
}

export function buildVobizRejectDocument(options: PlivoRejectDocumentOptions): PlivoAnswerDocument {
  return buildPlivoRejectDocument(options);
}

export function buildVobizDialDocument(options: PlivoDialDocumentOptions): PlivoAnswerDocument {
  return buildPlivoDialDocument(options);
}

/** The URL Vobiz signs: the requested URL with its query (and fragment) stripped. */
export function vobizSignatureBase(url: string): string {
  return url.replace(/[?#].*$/, '');
}

export function computeVobizSignature(
  authToken: string,
  url: string,
  nonce: string,
  version: 'v2' | 'v3',
): string {
  const separator = version === 'v3' ? '.' : '';
  return createHmac('sha256', authToken)
    .update(`${vobizSignatureBase(url)}${separator}${nonce}`)
    .digest('base64');
}

function checks(
  headers: PlivoRequestHeaders,
  authToken: string,
  url: string,
  version: 'v2' | 'v3',
): boolean | null {
  const signature = plivoHeaderValue(headers, `x-vobiz-signature-${version}`);
  const nonce = plivoHeaderValue(headers, `x-vobiz-signature-${version}-nonce`);
  if (!signature || !nonce) return null;
  return plivoSignaturesMatch(signature, computeVobizSignature(authToken, url, nonce, version));
}

/**
 * Checks X-Vobiz-Signature-V3, or V2 when V3 is absent. `method` and `params` are accepted for the
 * same call shape as Plivo's check but are not signed by Vobiz. False when unsigned or forged.
 */
export function verifyVobizSignature(request: PlivoSignedRequest): boolean {
  if (!request.authToken) return false;
  const v3 = checks(request.headers, request.authToken, request.url, 'v3');
  if (v3 !== null) return v3;
  return checks(request.headers, request.authToken, request.url, 'v2') ?? false;
}

/** Signature headers for a request, as Vobiz sends them (for simulators and tests). */
export function signVobizRequest(
  authToken: string,
  url: string,
  nonces: { v2: string; v3: string },
): Record<string, string> {
  return {
    'X-Vobiz-Signature-V2': computeVobizSignature(authToken, url, nonces.v2, 'v2'),
    'X-Vobiz-Signature-V2-Nonce': nonces.v2,
    'X-Vobiz-Signature-V3': computeVobizSignature(authToken, url, nonces.v3, 'v3'),
    'X-Vobiz-Signature-V3-Nonce': nonces.v3,
  };
}

/** Vobiz's ring, hangup and machine-detection callbacks carry Plivo's fields (Event Ring/StartApp/Hangup). */
export const parseVobizStatusCallback = parsePlivoStatusCallback;
export const parseVobizAnswerRequest = parsePlivoAnswerRequest;
