// The worker `parley serve` starts: it finds a queued delivery on its own and sends it through the
// operator allow-list, signed; stopping it waits for the pass under way.
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eq, organizations, webhookDeliveries, webhookEndpoints, type DatabaseHandle } from '@parley/db';
import { createTestDatabase } from '@parley/db/testing';
import { enqueueWebhookEvent, RecordingLinks, SecretBox, verifyWebhookSignature } from '@parley/services';
import { createLogger } from '../logger.js';
import { startWebhookWorker } from './webhook-worker.js';

let database: DatabaseHandle;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database?.close());

it('sends what is queued without being asked, signed, and stops cleanly', async () => {
  let received!: (request: { headers: IncomingHttpHeaders; body: string }) => void;
  const arrived = new Promise<{ headers: IncomingHttpHeaders; body: string }>(
    (resolve) => (received = resolve),
  );
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      res.end('ok');
      received({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  const box = new SecretBox('a test secret key that is long enough to be accepted');
  const [org] = await database.db.insert(organizations).values({ name: 'Acme' }).returning();
  const sealed = box.seal('whsec_worker');
  await database.db.insert(webhookEndpoints).values({
    organizationId: org!.id,
    url: `http://127.0.0.1:${port}/hooks`,
    secretKeyId: sealed.keyId,
    secretCiphertext: sealed.ciphertext,
  });
  const [deliveryId] = await enqueueWebhookEvent(database.db, {
    organizationId: org!.id,
    type: 'call.status_changed',
    data: { callId: 'c1', status: 'ringing' },
    occurredAt: new Date(),
  });

  const worker = startWebhookWorker({
    db: database.db,
    secretBox: box,
    allowedHosts: ['127.0.0.1'],
    recordingLinks: new RecordingLinks('instance secret', () => 'http://parley.test'),
    logger: createLogger('silent'),
    intervalMs: 10,
  });
  try {
    const request = await arrived;
    expect(
      verifyWebhookSignature('whsec_worker', request.headers['parley-signature'] as string, request.body)
        .valid,
    ).toBe(true);
  } finally {
    await worker.stop();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  // stop() waited for the pass that sent it, so its attempt is recorded.
  const [row] = await database.db
    .select()
    .from(webhookDeliveries)
    .where(eq(webhookDeliveries.id, deliveryId!));
  expect(row).toMatchObject({ status: 'succeeded', attempts: 1, lastStatus: 200 });
});
