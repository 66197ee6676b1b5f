import { z } from 'zod';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const list = z.string().transform((v) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
);

/** A host name, or `*.` and one: what the outbound guard's allow-list matches (see isHostAllowed). */
const HOST_PATTERN = /^(\*\.)?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

/**
 * Every setting Parley reads from the environment, with its default. Parsed once at start-up; a bad
 * value stops the process with a message naming the variable. Nothing else reads process.env.
 */
export const ConfigSchema = z.object({
  PARLEY_HOST: z.string().min(1).default('127.0.0.1').describe('Interface to listen on.'),
  PARLEY_PORT: z.coerce.number().int().min(0).max(65535).default(3000).describe('Port to listen on.'),
  PARLEY_ROLE: z.enum(['all', 'api', 'runtime']).default('all').describe('Which parts this process serves.'),
  PARLEY_PUBLIC_URL: z
    .url({ message: 'must be a URL such as https://parley.example.com' })
    .optional()
    .describe('How users and carriers reach this instance; defaults to http://HOST:PORT.'),
  PARLEY_RUNTIME_URL: z
    .url({ message: 'must be a URL such as wss://runtime-1.parley.example.com' })
    .refine((url) => /^(https?|wss?):\/\//.test(url), 'must be an http(s):// or ws(s):// URL')
    .optional()
    .describe(
      'Where carriers reach the media sockets of this process (its own address, when several processes carry calls); defaults to the public URL.',
    ),
  PARLEY_DATA_DIR: z
    .string()
    .min(1)
    .default('.parley')
    .describe('Where the embedded database and secret live.'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional()
    .describe('PostgreSQL connection string; the embedded PGlite is used when unset.'),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10).describe('PostgreSQL pool size.'),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
    .optional()
    .describe(
      'Redis for shared rate limits and commands to live calls across processes (carrier verdicts reach the runtime carrying the call).',
    ),
  PARLEY_SECRET_KEY: z
    .string()
    .min(32, 'must be at least 32 characters (try: openssl rand -base64 48)')
    .optional()
    .describe(
      'Protects sessions and encrypts tenant secrets. Generated into PARLEY_DATA_DIR/secret on the embedded default.',
    ),
  PARLEY_PREVIOUS_SECRET_KEYS: list
    .default([])
    .describe('Comma-separated former secret keys, still accepted for decryption during a rotation.'),
  PARLEY_SIGNUP_ENABLED: bool
    .default(true)
    .describe('Whether anyone may sign up (an instance setting can override).'),
  PARLEY_SESSION_TTL_HOURS: z.coerce
    .number()
    .int()
    .min(1)
    .max(24 * 90)
    .default(24 * 14)
    .describe('Session lifetime.'),
  PARLEY_BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(100 * 1024 * 1024)
    .default(1024 * 1024)
    .describe('Largest accepted request body.'),
  PARLEY_TRUST_PROXY: bool.default(false).describe('Trust X-Forwarded-* headers (behind a load balancer).'),
  PARLEY_LOGIN_RATE_LIMIT: z.coerce
    .number()
    .int()
    .min(1)
    .max(10_000)
    .default(10)
    .describe('Login attempts per IP per minute.'),
  PARLEY_API_RATE_LIMIT_PER_MINUTE: z.coerce
    .number()
    .int()
    .min(1)
    .max(1_000_000)
    .default(600)
    .describe('API requests per minute for each API key, each signed-in user and each anonymous client IP.'),
  PARLEY_METRICS_TOKEN: z
    .string()
    .min(16, 'must be at least 16 characters')
    .optional()
    .describe('When set, GET /metrics requires `Authorization: Bearer <token>`.'),
  PARLEY_RUNTIME_HEARTBEAT_MS: z.coerce
    .number()
    .int()
    .min(100)
    .max(60_000)
    .default(5000)
    .describe('How often a process carrying calls says it is alive (and sweeps calls of lost ones).'),
  PARLEY_RUNTIME_STALE_AFTER_MS: z.coerce
    .number()
    .int()
    .min(1000)
    .max(600_000)
    .default(30_000)
    .describe('A process silent this long is presumed dead: its calls are closed as runtime_lost.'),
  PARLEY_PROVIDER_URLS: z
    .string()
    .default('')
    .transform((value, ctx) => {
      const urls: Record<string, string> = {};
      for (const entry of value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)) {
        const [provider, url] = entry.split(/=(.*)/s, 2).map((s) => s.trim());
        if (!provider || !url || !URL.canParse(url)) {
          ctx.addIssue({ code: 'custom', message: `expected provider=url pairs, got \`${entry}\`` });
          return z.NEVER;
        }
        urls[provider] = url;
      }
      return urls;
    })
    .describe(
      'Endpoints that replace the vendors’ own, e.g. `deepgram=wss://api.eu.deepgram.com` (comma-separated).',
    ),
  PARLEY_OUTBOUND_ALLOWED_HOSTS: list
    .pipe(
      z.array(
        z
          .string()
          .toLowerCase()
          .regex(
            HOST_PATTERN,
            'expected host names such as `tools.internal` or `*.corp.example` (no scheme, port or bare `*`)',
          ),
      ),
    )
    .default([])
    .describe(
      'Comma-separated host names that tool requests (webhooks, MCP servers, the pre-call hook) may reach even when they resolve to a private or loopback address; `*.example.com` allows the names under example.com.',
    ),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .default('info')
    .describe('Log level.'),
});

export type Config = z.infer<typeof ConfigSchema>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses the environment (already merged with any .env) into a Config, or throws naming each bad variable. */
export function parseConfig(env: Record<string, string | undefined>): Config {
  const picked = Object.fromEntries(
    Object.keys(ConfigSchema.shape)
      .filter((k) => env[k] !== undefined && env[k] !== '')
      .map((k) => [k, env[k]]),
  );
  const result = ConfigSchema.safeParse(picked);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  return result.data;
}

export const SECRET_SETTINGS: ReadonlySet<keyof Config> = new Set([
  'PARLEY_SECRET_KEY',
  'PARLEY_PREVIOUS_SECRET_KEYS',
  'PARLEY_METRICS_TOKEN',
]);

/** The instance's base URL without a trailing slash: every link is built by appending a path to it. */
export function publicUrlOf(config: Config, port = config.PARLEY_PORT): string {
  if (config.PARLEY_PUBLIC_URL) return config.PARLEY_PUBLIC_URL.replace(/\/+$/, '');
  const host =
    config.PARLEY_HOST === '0.0.0.0' || config.PARLEY_HOST === '::' ? 'localhost' : config.PARLEY_HOST;
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/**
 * The base URL carriers open this process's media sockets at (ws:// or wss://, no trailing slash), or
 * null when it is the public URL (one process, or a load balancer in front of all of them).
 */
export function runtimeMediaUrlOf(config: Config): string | null {
  if (!config.PARLEY_RUNTIME_URL) return null;
  return config.PARLEY_RUNTIME_URL.replace(/\/+$/, '').replace(/^http/, 'ws');
}
