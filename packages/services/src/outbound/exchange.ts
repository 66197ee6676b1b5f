import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import { OutboundRequestError } from './outbound-error.js';
import type { Hop } from './redirects.js';
import { pinnedLookup, type ResolvedAddress } from './resolve-target.js';

/** A response whose headers have arrived; its body is read or discarded next. */
export interface OpenResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** The whole body, failing with `response_too_large` as soon as it passes `maxBytes`. */
  readBody(maxBytes: number): Promise<Buffer>;
  /** Closes the connection without reading the body (a redirect's body is of no use). */
  discard(): void;
}

function connectionFailed(host: string, error: unknown): OutboundRequestError {
  if (error instanceof OutboundRequestError) return error;
  // The system error code only: node's messages may quote the address, never anything secret, but the
  // code says enough ("ECONNREFUSED", "CERT_HAS_EXPIRED").
  const code = (error as NodeJS.ErrnoException | undefined)?.code ?? 'connection closed';
  return new OutboundRequestError('connection_failed', `Request to ${host} failed (${code})`, host);
}

/**
 * Sends one request, connecting only to `addresses` (already checked), and resolves when the response
 * headers arrive. When `signal` aborts, the connection is torn down and the promise (or the body being
 * read) rejects with `abortError()`.
 */
export function openExchange(
  hop: Hop,
  addresses: readonly ResolvedAddress[],
  signal: AbortSignal,
  abortError: () => OutboundRequestError,
): Promise<OpenResponse> {
  const host = hop.url.host;
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(abortError());
    const client = hop.url.protocol === 'https:' ? https : http;
    // No shared agent: a pooled socket could belong to an earlier resolution of the same host name.
    const request = client.request(hop.url, {
      method: hop.method,
      headers: hop.headers,
      agent: false,
      lookup: pinnedLookup(addresses),
    });
    let response: IncomingMessage | undefined;
    const onAbort = () => {
      const error = abortError();
      if (response) response.destroy(error);
      else request.destroy(error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    const release = () => signal.removeEventListener('abort', onAbort);

    request.on('error', (error) => {
      // After the headers, the body reader owns the abort listener and reports the failure.
      if (response) return;
      release();
      reject(connectionFailed(host, error));
    });
    request.on('response', (res) => {
      response = res;
      // An abort can land before the body is read; readBody reports it then.
      res.on('error', () => {});
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        discard: () => {
          release();
          res.destroy();
        },
        readBody: (maxBytes) =>
          new Promise<Buffer>((resolveBody, rejectBody) => {
            const fail = (error: unknown) => {
              release();
              rejectBody(connectionFailed(host, error));
            };
            const tooLarge = () =>
              new OutboundRequestError(
                'response_too_large',
                `The response from ${host} is larger than ${maxBytes} bytes`,
                host,
              );
            if (res.destroyed) return fail(res.errored);
            const declared = Number(res.headers['content-length']);
            if (declared > maxBytes) {
              res.destroy();
              return fail(tooLarge());
            }
            const chunks: Buffer[] = [];
            let size = 0;
            res.on('data', (chunk: Buffer) => {
              size += chunk.length;
              if (size > maxBytes) res.destroy(tooLarge());
              else chunks.push(chunk);
            });
            res.on('end', () => {
              release();
              resolveBody(Buffer.concat(chunks, size));
            });
            res.on('error', fail);
            res.on('close', () => {
              if (!res.complete) fail(undefined);
            });
          }),
      });
    });
    request.end(hop.body);
  });
}
