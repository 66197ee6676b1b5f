import { randomUUID } from 'node:crypto';
import { writeSync } from 'node:fs';
import path from 'node:path';
import { issueSetupLink, RecordingLinks } from '@parley/services';
import { Redis } from 'ioredis';
import { buildApp } from '../api/app.js';
import { publicUrlOf, runtimeMediaUrlOf, type Config } from '../config.js';
import { recordingLinkRoutes } from '../api/routes/v1/recordings.js';
import { startWebhookWorker } from '../jobs/webhook-worker.js';
import { startRetentionJob } from '../jobs/retention-job.js';
import { createCallCommandBus } from '../live/create-call-command-bus.js';
import { createCallAudioRelay } from '../live/create-call-audio-relay.js';
import { createLiveEventLog } from '../live/create-live-event-log.js';
import { createLogger } from '../logger.js';
import { openRuntime, readiness } from '../runtime.js';
import { CarrierDialer } from '../telephony/carrier-dialer.js';
import { registerTelephony } from '../telephony/register-telephony.js';
import { simulationRoutes } from '../telephony/simulation-routes.js';
import { VoiceRuntime } from '../telephony/voice-runtime.js';
import { VERSION } from '../version.js';

const SHUTDOWN_GRACE_MS = 25_000;

/**
 * Runs the server until SIGTERM/SIGINT, then stops accepting, lets in-flight requests finish, closes
 * the database and exits 0.
 */
export async function serve(config: Config): Promise<void> {
  const logger = createLogger(config.LOG_LEVEL);
  const runtime = await openRuntime(config);
  if (runtime.secret.source === 'generated') {
    logger.warn(
      { file: runtime.secret.file },
      'generated a new PARLEY_SECRET_KEY and stored it with mode 0600; back it up',
    );
  }
  const redis = config.REDIS_URL
    ? new Redis(config.REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 2 })
    : undefined;
  if (redis) await redis.connect();
  // Commands for live calls (a carrier's verdict, a final status) reach the runtime carrying the call.
  const commands = await createCallCommandBus({ redis, logger });
  // A supervisor's call control goes the same way, from whichever process the request reached.
  runtime.deps.callCommands = commands;
  // Supervisor listen: the audio of calls someone listens to, from the runtime carrying them.
  const callAudio = await createCallAudioRelay({ redis, logger });
  // Live events of calls (GET /events), from whichever process carries them.
  const liveEvents = await createLiveEventLog({ redis, logger });
  // A runtime silent this long is neither offered new calls nor shown as alive.
  runtime.deps.runtimeStaleAfterMs = config.PARLEY_RUNTIME_STALE_AFTER_MS;
  // This process's voice runtime, if it carries calls: new calls go to it unless it is draining.
  const ownRuntime =
    config.PARLEY_ROLE === 'api'
      ? null
      : { runtimeId: `${config.PARLEY_ROLE}-${randomUUID()}`, mediaUrl: runtimeMediaUrlOf(config) };
  // Every role can place calls through the carriers' REST APIs; the answer comes back to a runtime.
  const dialer = new CarrierDialer({ deps: runtime.deps, ownRuntime });
  runtime.deps.dialer = dialer;
  // Processes of the `all` and `runtime` roles carry calls: carriers' webhooks and media sockets land here.
  const voice = !ownRuntime
    ? null
    : await VoiceRuntime.start({
        deps: runtime.deps,
        runtimeId: ownRuntime.runtimeId,
        mediaUrl: ownRuntime.mediaUrl,
        role: config.PARLEY_ROLE,
        version: VERSION,
        commands,
        liveEvents,
        audio: callAudio,
        recordingsDir: path.resolve(config.PARLEY_DATA_DIR, 'recordings'),
        providerUrls: config.PARLEY_PROVIDER_URLS,
        heartbeatIntervalMs: config.PARLEY_RUNTIME_HEARTBEAT_MS,
        staleAfterMs: config.PARLEY_RUNTIME_STALE_AFTER_MS,
        // The agent's transfers and keypad tones go through the same carrier REST APIs.
        callControl: dialer,
        allowedHosts: config.PARLEY_OUTBOUND_ALLOWED_HOSTS,
        logger,
      });
  // End-of-call webhooks link to recordings with URLs signed under the instance secret.
  const recordingLinks = new RecordingLinks(runtime.secret.secret, () => runtime.deps.publicUrl);
  const app = await buildApp({
    deps: runtime.deps,
    version: VERSION,
    role: config.PARLEY_ROLE,
    bodyLimitBytes: config.PARLEY_BODY_LIMIT_BYTES,
    trustProxy: config.PARLEY_TRUST_PROXY,
    loginRateLimitPerMinute: config.PARLEY_LOGIN_RATE_LIMIT,
    apiRateLimitPerMinute: config.PARLEY_API_RATE_LIMIT_PER_MINUTE,
    metricsToken: config.PARLEY_METRICS_TOKEN,
    checkReady: () => readiness(runtime.database),
    outbound: { allowedHosts: config.PARLEY_OUTBOUND_ALLOWED_HOSTS },
    logger,
    liveEvents,
    liveAudio: { commands, audio: callAudio },
    ...(redis ? { redis } : {}),
    extraRoutes: async (app) => {
      await recordingLinkRoutes(app, { deps: runtime.deps, links: recordingLinks });
      if (!voice) return;
      await registerTelephony(app, { deps: runtime.deps, runtime: voice, commands, logger });
      // `parley call simulate` (operator-signed, outside the REST API).
      await simulationRoutes(app, {
        deps: runtime.deps,
        runtime: voice,
        commands,
        logger,
        instanceSecret: runtime.secret.secret,
      });
    },
  });
  // Customers' webhooks are sent by the processes that serve the API; runtimes only carry calls.
  const webhookWorker =
    config.PARLEY_ROLE === 'runtime'
      ? null
      : startWebhookWorker({
          db: runtime.deps.db,
          secretBox: runtime.deps.secretBox,
          allowedHosts: config.PARLEY_OUTBOUND_ALLOWED_HOSTS,
          recordingLinks,
          logger,
        });
  // Retention, like webhooks, is the API processes' work.
  const retentionJob =
    config.PARLEY_ROLE === 'runtime' ? null : startRetentionJob({ db: runtime.deps.db, logger });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: no new connections, finishing in-flight requests');
    // A request that outlives the grace period is cut off rather than holding the process forever.
    setTimeout(() => app.server.closeAllConnections(), SHUTDOWN_GRACE_MS).unref();
    try {
      // Calls in progress are ended (and written) before the sockets and the database go away.
      await voice?.close();
      await webhookWorker?.stop();
      await retentionJob?.stop();
      await app.close();
      await commands.close();
      await callAudio.close();
      await liveEvents.close();
      await redis?.quit();
      await runtime.close();
      logger.info('stopped');
      process.exit(0);
    } catch (error) {
      logger.error({ err: error }, 'unclean shutdown');
      process.exit(1);
    }
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));

  await app.listen({ port: config.PARLEY_PORT, host: config.PARLEY_HOST });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.PARLEY_PORT;
  // With port 0 the real port is known only now.
  runtime.deps.publicUrl = publicUrlOf(config, port);
  const setupLink = config.PARLEY_ROLE === 'runtime' ? null : await issueSetupLink(runtime.deps);
  if (setupLink) {
    // The link is a one-time credential: it goes to the terminal that started Parley, not the JSON log.
    // Written synchronously so it lands before the "listening" log line that tools wait for.
    writeSync(
      1,
      `\n  Parley has no owner yet. Open this one-time link to create the owner account:\n\n    ${setupLink}\n\n`,
    );
  }
  logger.info(
    {
      url: runtime.deps.publicUrl,
      role: config.PARLEY_ROLE,
      database: runtime.database.kind,
      version: VERSION,
    },
    `Parley is listening on ${runtime.deps.publicUrl} (API docs: ${runtime.deps.publicUrl}/api/docs)`,
  );
}
