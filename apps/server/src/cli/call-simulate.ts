// `parley call simulate --agent <id> [--carrier twilio|plivo|vobiz|exotel|telnyx] [--say "text" ...]`:
// a whole phone call to a running Parley with no phone and no provider keys. The CLI starts provider
// simulators and a caller on this machine, asks the server (operator-signed, see operator-signature.ts)
// for a call marked as simulated that uses those simulators, holds the conversation over the carrier's
// media protocol, and prints the transcript and each turn's latency as the server recorded them.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { Config } from '../config.js';
import { OPERATOR_SIGNATURE_HEADER, signOperatorRequest } from '../operator-signature.js';
import { resolveSecret } from '../secret.js';
import {
  isSimulatedCarrier,
  SIMULATED_CARRIERS,
  SIMULATIONS_PATH,
  type SimulatedCarrier,
} from '../telephony/simulation-contract.js';
import { parseOptions, required, UsageError } from './args.js';
import { DEFAULT_LINES, startSimulators } from './simulators.js';

const MAX_LINES = 10;
const MAX_LINE_CHARACTERS = 500;
const DEFAULT_TURN_TIMEOUT_S = 30;
/** How long the server may take to write the call's record after the hang-up. */
const REPORT_WAIT_MS = 15_000;
const REPORT_POLL_MS = 200;

export const CALL_SIMULATE_USAGE =
  'usage: parley call simulate --agent ID [--carrier twilio|plivo|vobiz|exotel|telnyx] [--say "text" ...] [--url URL] [--timeout SECONDS]';

/** A failure the operator can act on; printed as is, exit status 1. */
class SimulateError extends Error {
  override readonly name = 'SimulateError';
}

interface Created {
  callId: string;
  organizationId: string;
  agentVersion: number;
  mediaToken: string;
  mediaPath: string;
}

const TurnLatency = z.object({
  turnId: z.number().optional(),
  endpointingMs: z.number().nullable().optional(),
  sttMs: z.number().nullable().optional(),
  llmFirstTokenMs: z.number().nullable().optional(),
  ttsFirstByteMs: z.number().nullable().optional(),
  orchestratorMs: z.number().nullable().optional(),
  voiceToVoiceMs: z.number().nullable().optional(),
});

const Report = z.object({
  callId: z.string(),
  status: z.string(),
  endReason: z.string().nullable(),
  ended: z.boolean(),
  transcript: z.array(z.object({ role: z.string(), text: z.string(), interrupted: z.boolean() })),
  turnLatencies: z.array(TurnLatency),
  latencySummary: z.record(z.string(), z.unknown()).nullable(),
  problem: z.string().nullable(),
});
type Report = z.infer<typeof Report>;

/** The server on this machine: its listening address (a wildcard host is reached on loopback). */
function localUrlOf(config: Config): string {
  const wildcard = config.PARLEY_HOST === '0.0.0.0' || config.PARLEY_HOST === '::';
  const host = wildcard ? '127.0.0.1' : config.PARLEY_HOST;
  return `http://${host.includes(':') ? `[${host}]` : host}:${config.PARLEY_PORT}`;
}

/** The running server's secret, never a new one: a generated secret would not be the server's. */
function instanceSecret(config: Config): string {
  if (!config.PARLEY_SECRET_KEY && !config.DATABASE_URL) {
    const file = path.resolve(config.PARLEY_DATA_DIR, 'secret');
    if (!existsSync(file)) {
      throw new SimulateError(
        `no PARLEY_SECRET_KEY and no ${file}: run this where the server runs, with its configuration`,
      );
    }
  }
  return resolveSecret(config).secret;
}

export async function callSimulateCommand(config: Config, args: string[]): Promise<number> {
  const { values, positionals } = parseOptions(args, {
    agent: { type: 'string' },
    carrier: { type: 'string', default: 'twilio' },
    say: { type: 'string', multiple: true },
    url: { type: 'string' },
    timeout: { type: 'string' },
  });
  if (positionals.length > 0) throw new UsageError(CALL_SIMULATE_USAGE);
  const agentId = required(values.agent, 'agent');
  if (!z.uuid().safeParse(agentId).success) throw new UsageError('--agent: must be an agent id (a UUID)');
  const carrier = String(values.carrier);
  if (!isSimulatedCarrier(carrier)) {
    throw new UsageError(
      `--carrier: ${carrier} is not a carrier simulate speaks (supported: ${SIMULATED_CARRIERS.join(', ')})`,
    );
  }
  const said = values.say as unknown as string[] | undefined;
  const lines = (said ?? DEFAULT_LINES).map((line) => line.trim());
  if (lines.length > MAX_LINES) throw new UsageError(`--say: at most ${MAX_LINES} lines`);
  if (lines.some((line) => line.length === 0 || line.length > MAX_LINE_CHARACTERS)) {
    throw new UsageError(`--say: each line must have 1 to ${MAX_LINE_CHARACTERS} characters`);
  }
  const timeoutS = values.timeout === undefined ? DEFAULT_TURN_TIMEOUT_S : Number(values.timeout);
  if (!Number.isInteger(timeoutS) || timeoutS < 1 || timeoutS > 600) {
    throw new UsageError('--timeout: must be whole seconds between 1 and 600');
  }
  const baseUrl = (typeof values.url === 'string' ? values.url : localUrlOf(config)).replace(/\/+$/, '');
  if (!/^https?:\/\//.test(baseUrl)) throw new UsageError('--url: must be an http:// or https:// URL');

  try {
    return await simulate({ config, agentId, carrier, lines, baseUrl, turnTimeoutMs: timeoutS * 1000 });
  } catch (error) {
    if (error instanceof SimulateError || (error as Error).name === 'SimulatorUnavailableError') {
      console.error(`parley call simulate: ${(error as Error).message}`);
      return 1;
    }
    throw error;
  }
}

async function simulate(options: {
  config: Config;
  agentId: string;
  carrier: SimulatedCarrier;
  lines: readonly string[];
  baseUrl: string;
  turnTimeoutMs: number;
}): Promise<number> {
  const secret = instanceSecret(options.config);
  const server = operatorClient(options.baseUrl, secret);
  const simulators = await startSimulators();
  try {
    const created = (await server.send('POST', SIMULATIONS_PATH, {
      agentId: options.agentId,
      carrier: options.carrier,
      simulation: simulators.simulation,
    })) as Created;
    console.error(`Simulated ${options.carrier} call ${created.callId} to agent ${options.agentId}…`);
    let conversationError: Error | null = null;
    try {
      await simulators.converse({
        carrier: options.carrier,
        mediaUrl: `${options.baseUrl.replace(/^http/, 'ws')}${created.mediaPath}`,
        callId: created.callId,
        mediaToken: created.mediaToken,
        lines: options.lines,
        turnTimeoutMs: options.turnTimeoutMs,
        onProgress: (message) => console.error(`  ${message}`),
      });
    } catch (error) {
      conversationError = error as Error;
    }
    const report = await finalReport(server, created.callId);
    printReport(created, options, report);
    if (conversationError) {
      console.error(`\nparley call simulate: ${conversationError.message}`);
      return 1;
    }
    if (report.status !== 'completed') {
      console.error(`\nparley call simulate: the call ended ${report.status}`);
      return 1;
    }
    return 0;
  } finally {
    await simulators.close();
  }
}

/** The call's record once the server has closed it (it writes the last events after the hang-up). */
async function finalReport(server: OperatorClient, callId: string): Promise<Report> {
  const deadline = Date.now() + REPORT_WAIT_MS;
  for (;;) {
    const report = Report.parse(await server.send('GET', `${SIMULATIONS_PATH}/${callId}`));
    if (report.ended) return report;
    if (Date.now() > deadline) {
      throw new SimulateError(
        `the server did not finish the call's record within ${REPORT_WAIT_MS / 1000} s`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, REPORT_POLL_MS));
  }
}

interface OperatorClient {
  send(method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown>;
}

function operatorClient(baseUrl: string, secret: string): OperatorClient {
  return {
    async send(method, requestPath, body) {
      const text = body === undefined ? '' : JSON.stringify(body);
      let response: Response;
      try {
        response = await fetch(`${baseUrl}${requestPath}`, {
          method,
          headers: {
            [OPERATOR_SIGNATURE_HEADER]: signOperatorRequest(secret, {
              method,
              path: requestPath,
              body: text,
            }),
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          ...(body === undefined ? {} : { body: text }),
          signal: AbortSignal.timeout(15_000),
        });
      } catch (error) {
        const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
        throw new SimulateError(
          `cannot reach the Parley server at ${baseUrl} (${cause}): start it with \`parley serve\`, or pass --url`,
        );
      }
      const json = (await response.json().catch(() => null)) as {
        error?: { code?: string; message?: string };
      } | null;
      if (response.ok) return json;
      const code = json?.error?.code ?? `HTTP ${response.status}`;
      const message = json?.error?.message ?? response.statusText;
      if (code === 'unauthenticated') {
        throw new SimulateError(
          `the server at ${baseUrl} refused the operator signature: run this with the server's configuration ` +
            '(the same PARLEY_SECRET_KEY, or in the directory that holds its .parley data)',
        );
      }
      if (code === 'not_found') {
        throw new SimulateError(
          `the server at ${baseUrl} has no simulator endpoint: it must be a Parley server that carries calls (role all or runtime)`,
        );
      }
      if (code === 'agent_not_found') throw new SimulateError('no agent has this id (deleted, or a typo?)');
      throw new SimulateError(`${message} (${code})`);
    },
  };
}

const STAGES = [
  ['voiceToVoiceMs', 'voice-to-voice'],
  ['endpointingMs', 'endpointing'],
  ['sttMs', 'STT'],
  ['llmFirstTokenMs', 'LLM first token'],
  ['ttsFirstByteMs', 'TTS first byte'],
  ['orchestratorMs', 'Parley'],
] as const;

function printReport(created: Created, options: { agentId: string; carrier: string }, report: Report): void {
  const outcome = `${report.status}${report.endReason ? ` (${report.endReason})` : ''}`;
  console.log(
    `Call ${created.callId}: agent ${options.agentId} version ${created.agentVersion}, simulated ${options.carrier} caller, ${outcome}`,
  );
  if (report.problem) console.log(`Problem: ${report.problem}`);
  console.log('\nTranscript');
  if (report.transcript.length === 0) console.log('  (nothing was said)');
  for (const turn of report.transcript) {
    const who = turn.role === 'user' ? 'caller' : turn.role;
    console.log(`  ${`${who}:`.padEnd(8)}${turn.text}${turn.interrupted ? ' [interrupted]' : ''}`);
  }
  console.log('\nLatency per turn (ms)');
  if (report.turnLatencies.length === 0) {
    console.log('  (no turn was measured)');
    return;
  }
  const header = ['turn', ...STAGES.map(([, label]) => label)];
  const rows = report.turnLatencies.map((turn, index) => [
    String(turn.turnId ?? index + 1),
    ...STAGES.map(([key]) => {
      const value = turn[key];
      return typeof value === 'number' ? String(Math.round(value)) : '-';
    }),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  for (const row of [header, ...rows]) {
    console.log(`  ${row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ')}`.trimEnd());
  }
  // A turn with no voice-to-voice figure is one the caller did not start (the greeting).
  const replies = report.turnLatencies.filter((turn) => typeof turn.voiceToVoiceMs === 'number').length;
  const v2v = report.latencySummary?.['voiceToVoiceMs'] as { p50?: number; p95?: number } | undefined;
  if (v2v?.p50 !== undefined) {
    console.log(
      `  voice-to-voice p50 ${Math.round(v2v.p50)} ms, p95 ${Math.round(v2v.p95 ?? v2v.p50)} ms over ${replies} repl${replies === 1 ? 'y' : 'ies'}`,
    );
  }
}
