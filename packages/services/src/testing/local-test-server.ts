// Test-only: a customer's HTTP server (webhook tool, pre-call hook) on 127.0.0.1. The SSRF guard
// refuses loopback addresses, so tests reach it through host names that `lookup` resolves to it and
// that `allowedHosts` names, as an operator's PARLEY_OUTBOUND_ALLOWED_HOSTS would.
// Kept under src/testing so the package build and its public barrel leave it out.
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HostLookup } from '../outbound/resolve-target.js';

/** A request as the server received it, body read whole. */
export interface ReceivedRequest {
  method: string;
  /** Path and query string. */
  path: string;
  host: string | undefined;
  headers: IncomingHttpHeaders;
  body: string;
}

/** Answers a request; leaving `res` open holds the answer. */
export type LocalTestHandler = (request: ReceivedRequest, res: ServerResponse) => void;

export interface LocalTestServerOptions {
  /** Names resolved to the server and allowed; the first is `hostname`. Default: `tools.test`. */
  hosts?: string[];
  /** Names resolved to the server but left off the allow-list, to test refusals. */
  unlistedHosts?: string[];
  /** Default: 200 with `{}`. */
  handler?: LocalTestHandler;
}

export interface LocalTestServer {
  readonly port: number;
  /** The first allowed name. */
  readonly hostname: string;
  /** `http://<hostname>:<port><path>`. */
  url(path?: string, hostname?: string): string;
  /** Resolves the allowed and unlisted names to 127.0.0.1; any other name does not exist. */
  readonly lookup: HostLookup;
  readonly allowedHosts: string[];
  /** Every request received since the last `reset`, in order of arrival. */
  readonly requests: ReceivedRequest[];
  /** Forgets the requests received so far and answers the next ones with `handler` (if given). */
  reset(handler?: LocalTestHandler): void;
  /** Cuts held answers, so that one test's held request does not outlive it. */
  dropConnections(): void;
  close(): Promise<void>;
}

/** A lookup answering from a table of addresses; a name not in it does not exist (ENOTFOUND). */
export function lookupFrom(table: Record<string, string[]>): HostLookup {
  return async (hostname) => {
    const addresses = table[hostname];
    if (!addresses)
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
}

/**
 * What lets the guard reach a server on 127.0.0.1 (such as the test kit's MCP server): `hosts`
 * resolve to it and are allowed; `unlistedHosts` resolve to it but are not allowed.
 */
export function reachLocally(
  hosts: string[],
  unlistedHosts: string[] = [],
): { lookup: HostLookup; allowedHosts: string[] } {
  const names = [...hosts, ...unlistedHosts];
  return {
    lookup: lookupFrom(Object.fromEntries(names.map((name) => [name, ['127.0.0.1']]))),
    allowedHosts: hosts,
  };
}

export async function startLocalTestServer(options: LocalTestServerOptions = {}): Promise<LocalTestServer> {
  const { lookup, allowedHosts } = reachLocally(options.hosts ?? ['tools.test'], options.unlistedHosts);
  const hostname = allowedHosts[0];
  if (!hostname) throw new Error('startLocalTestServer needs at least one host name');
  const requests: ReceivedRequest[] = [];
  let handler: LocalTestHandler =
    options.handler ??
    ((_request, res) => {
      res.setHeader('content-type', 'application/json');
      res.end('{}');
    });

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request: ReceivedRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        host: req.headers.host,
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      };
      requests.push(request);
      handler(request, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    port,
    hostname,
    url: (path = '/', name = hostname) => `http://${name}:${port}${path}`,
    lookup,
    allowedHosts,
    requests,
    reset(next) {
      requests.length = 0;
      if (next) handler = next;
    },
    dropConnections: () => server.closeAllConnections(),
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
