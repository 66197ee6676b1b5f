// The server's side of `parley call simulate`. Two operator routes, outside the REST API and its
// OpenAPI document, believed only with a signature under the instance secret (operator-signature.ts):
// one creates a simulated call, one reads its transcript and latencies afterwards. And the media socket
// of simulated calls, `/media/simulated/<carrier>/<callId>`: it speaks the call's carrier's protocol
// (simulated-media.ts), but there is no carrier account to sign with, so the call's single-use media
// token is the only credential — and it opens only calls marked as simulated, of that carrier (the
// claim, claimCallMedia, holds that line). Real calls keep their carrier routes, signatures and all.
import {
  beginSimulatedCall,
  findCallCarrier,
  getSimulatedCallReport,
  ServiceError,
  type ServiceContext,
} from '@parley/services';
import { MediaStreamError } from '@parley/telephony';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { OPERATOR_SIGNATURE_HEADER, OperatorSignatureVerifier } from '../operator-signature.js';
import { acceptSimulatedStream } from './simulated-media.js';
import { isSimulatedCarrier, SIMULATED_CARRIERS, SIMULATIONS_PATH } from './simulation-contract.js';
import { CallSimulation, simulationProblem } from './simulation.js';
import type { TelephonyEnv } from './telephony-env.js';
import { claimAndCarry } from './claim-and-carry.js';
import { reportCallRinging } from '../live/status-change-reports.js';

/** Where a simulated call's caller opens its media socket, per carrier protocol. */
export const simulatedMediaPath = (carrier: string, callId: string) =>
  `/media/simulated/${carrier}/${callId}`;

const CreateSimulationBody = z.strictObject({
  agentId: z.uuid(),
  carrier: z.enum(SIMULATED_CARRIERS),
  simulation: CallSimulation,
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** The caller sends `start` at once; a socket that says nothing is not a caller. */
const START_TIMEOUT_MS = 10_000;

export interface SimulationEnv extends TelephonyEnv {
  /** PARLEY_SECRET_KEY: operator requests are signed under a key derived from it. */
  instanceSecret: string;
}

export async function simulationRoutes(app: FastifyInstance, env: SimulationEnv): Promise<void> {
  const { deps } = env;
  const log = env.logger.child({ component: 'simulation' });
  const verifier = new OperatorSignatureVerifier(env.instanceSecret);
  const operator: ServiceContext = { ...deps, actor: { type: 'system', label: 'cli' }, clientIp: null };

  await app.register(async (scope) => {
    // The signature covers the body byte for byte, so it is checked before the JSON is parsed.
    scope.removeContentTypeParser('application/json');
    scope.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) =>
      done(null, body),
    );
    const authorise = (request: FastifyRequest, body: string) => {
      const header = request.headers[OPERATOR_SIGNATURE_HEADER];
      const valid = verifier.verify(typeof header === 'string' ? header : undefined, {
        method: request.method,
        path: request.url,
        body,
      });
      if (!valid) {
        log.warn('refused an operator request without a valid signature');
        throw new ServiceError(
          'unauthenticated',
          'Operator requests must be signed with the instance secret',
        );
      }
    };

    scope.post(SIMULATIONS_PATH, { schema: { hide: true } }, async (request, reply) => {
      const raw = typeof request.body === 'string' ? request.body : '';
      authorise(request, raw);
      let json: unknown;
      try {
        json = JSON.parse(raw);
      } catch {
        throw new ServiceError('invalid_json', 'The body is not valid JSON');
      }
      const parsed = CreateSimulationBody.safeParse(json);
      if (!parsed.success) {
        throw new ServiceError(
          'invalid_request',
          'The simulation request is not valid',
          parsed.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message })),
        );
      }
      const { agentId, carrier, simulation } = parsed.data;
      const started = await beginSimulatedCall(operator, {
        agentId,
        carrier,
        simulation,
        problemWith: (versionConfig) => simulationProblem(versionConfig, simulation),
      });
      log.info({ callId: started.callId, organizationId: started.organizationId }, 'simulated call created');
      reportCallRinging(env, { id: started.callId, organizationId: started.organizationId, agentId });
      return reply.code(201).send({
        callId: started.callId,
        organizationId: started.organizationId,
        agentVersion: started.agentVersion,
        mediaToken: started.mediaToken,
        mediaPath: simulatedMediaPath(carrier, started.callId),
      });
    });

    scope.get(`${SIMULATIONS_PATH}/:callId`, { schema: { hide: true } }, async (request) => {
      authorise(request, '');
      const { callId } = request.params as { callId: string };
      if (!UUID.test(callId)) throw new ServiceError('call_not_found', 'No simulated call has this id');
      return getSimulatedCallReport(operator, callId);
    });
  });

  app.get(
    simulatedMediaPath(':carrier', ':callId'),
    {
      websocket: true,
      schema: { hide: true },
      // Before the upgrade: a socket for no call of this protocol gets a plain 403 and never opens. That
      // the call is a simulated one, the claim checks with the token (claimCallMedia).
      preValidation: async (request, reply) => {
        const { carrier, callId } = request.params as { carrier: string; callId: string };
        const known = isSimulatedCarrier(carrier) && UUID.test(callId);
        const call = known ? await findCallCarrier(deps.db, { callId }) : null;
        if (!call || call.carrier !== carrier) {
          log.warn({ callId }, 'refused a simulated media socket for no call of its protocol');
          return reply.code(403).send({ error: { code: 'forbidden', message: 'Not a simulated call' } });
        }
        return undefined;
      },
    },
    (socket, request) => {
      const { carrier, callId } = request.params as { carrier: string; callId: string };
      // preValidation lets only a simulated carrier through; this narrows the type.
      if (!isSimulatedCarrier(carrier)) {
        socket.close();
        return;
      }
      void (async () => {
        let stream;
        try {
          stream = await acceptSimulatedStream(carrier, socket, callId, { startTimeoutMs: START_TIMEOUT_MS });
        } catch (error) {
          if (!(error instanceof MediaStreamError)) throw error;
          log.warn({ callId, carrier, code: error.code }, 'simulated media stream refused before start');
          return;
        }
        const { transport, mediaToken, refuse } = stream;
        await claimAndCarry(env, { callId, mediaToken, carrier, simulated: true }, transport, async () => {
          log.warn(
            { callId, carrier },
            'simulated media stream not authorised (wrong token, or not a simulated call): closed',
          );
          await refuse();
        });
      })().catch((error: unknown) => {
        log.error({ err: error, callId, carrier }, 'simulated media stream failed');
        socket.close();
      });
    },
  );
}
