// Kept under src/testing so the package build and its public barrel leave it out.
// Test-only: a customer's webhook receiver on 127.0.0.1, reached through the operator allow-list
// (PARLEY_OUTBOUND_ALLOWED_HOSTS=127.0.0.1), as a real deployment would reach a customer's server.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedDelivery {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface TestReceiver {
  url(path?: string): string;
  readonly allowedHosts: string[];
  readonly received: ReceivedDelivery[];
  /** The statuses to answer, in order; the last one repeats. */
  answer(...statuses: number[]): void;
  /** Answers by path instead (a path it returns undefined for answers as `answer` says). */
  answerBy(route: ((path: string) => number | undefined) | null): void;
  close(): Promise<void>;
}

export async function startTestReceiver(): Promise<TestReceiver> {
  let statuses = [200];
  let route: ((path: string) => number | undefined) | null = null;
  const received: ReceivedDelivery[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = req.url ?? '';
      received.push({ path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const status = route?.(path) ?? (statuses.length > 1 ? statuses.shift()! : statuses[0]!);
      res
        .writeHead(status, { 'content-type': 'text/plain' })
        .end(status < 300 ? 'thanks' : `failed with ${status}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: (path = '/hooks') => `http://127.0.0.1:${port}${path}`,
    allowedHosts: ['127.0.0.1'],
    received,
    answer: (...next) => {
      statuses = next;
    },
    answerBy: (next) => {
      route = next;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
