// Test-only: an API application on a fresh test database (PGlite or PostgreSQL, per the vitest project)
// and clients that act as a signed-in user or an API key, through app.inject().
import { createTestDatabase } from '@parley/db/testing';
import type { DatabaseHandle } from '@parley/db';
import {
  issueSetupLink,
  SecretBox,
  type CallDialer,
  type CallLimits,
  type ServiceDeps,
  type ToolOutbound,
} from '@parley/services';
import { buildApp, type App } from '../api/app.js';
import { readiness } from '../runtime.js';
import type { Redis } from 'ioredis';
import type { LiveEventLog } from '../live/live-event-log.js';

export interface Response<T = any> {
  status: number;
  body: T;
  headers: Record<string, string | string[] | number | undefined>;
}

type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

/** A caller: a cookie session (with its CSRF token) or an API key, optionally pinned to an organization. */
export class Client {
  constructor(
    private readonly app: App,
    readonly auth: { cookie?: string; csrfToken?: string; apiKey?: string },
    readonly organizationId?: string,
  ) {}

  withApiKey(apiKey: string): Client {
    return new Client(this.app, { apiKey }, this.organizationId);
  }

  inOrganization(organizationId: string): Client {
    return new Client(this.app, this.auth, organizationId);
  }

  async request<T = any>(
    method: Method,
    url: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Response<T>> {
    const allHeaders: Record<string, string> = { ...headers };
    if (this.auth.cookie) allHeaders.cookie = this.auth.cookie;
    if (this.auth.csrfToken && method !== 'GET') allHeaders['x-csrf-token'] = this.auth.csrfToken;
    if (this.auth.apiKey) allHeaders.authorization = `Bearer ${this.auth.apiKey}`;
    if (this.organizationId) allHeaders['parley-organization'] = this.organizationId;
    const response = await this.app.inject({
      method,
      url,
      headers: allHeaders,
      ...(body === undefined ? {} : { payload: body as object }),
    });
    const text = response.body;
    return {
      status: response.statusCode,
      body: text && response.headers['content-type']?.toString().includes('json') ? JSON.parse(text) : text,
      headers: response.headers,
    };
  }

  get = <T = any>(url: string, headers?: Record<string, string>) =>
    this.request<T>('GET', url, undefined, headers);
  post = <T = any>(url: string, body?: unknown, headers?: Record<string, string>) =>
    this.request<T>('POST', url, body ?? {}, headers);
  patch = <T = any>(url: string, body: unknown) => this.request<T>('PATCH', url, body);
  delete = <T = any>(url: string) => this.request<T>('DELETE', url);
}

export interface SignedInUser {
  client: Client;
  userId: string;
  email: string;
  organizationId: string;
}

let counter = 0;
export const uniqueEmail = (label = 'user') =>
  `${label}-${Date.now().toString(36)}-${++counter}@example.test`;

export interface Harness {
  app: App;
  deps: ServiceDeps;
  database: DatabaseHandle;
  /** The instance's first user: owner of the first organization and instance administrator. */
  operator: SignedInUser;
  anonymous: Client;
  signup(label?: string): Promise<SignedInUser>;
  /** Creates an API key in the user's current organization with the given scopes. */
  apiKey(owner: SignedInUser, scopes: string[]): Promise<Client>;
  close(): Promise<void>;
}

function sessionOf(response: Response, app: App): Client {
  const setCookie = [response.headers['set-cookie']]
    .flat()
    .find((c) => String(c).startsWith('parley_session='));
  if (!setCookie)
    throw new Error(`no session cookie (status ${response.status}: ${JSON.stringify(response.body)})`);
  return new Client(app, { cookie: String(setCookie).split(';')[0], csrfToken: response.body.csrfToken });
}

export interface HarnessOptions {
  loginRateLimitPerMinute?: number;
  /** Per key, user or anonymous IP; high enough by default that no test meets it by accident. */
  apiRateLimitPerMinute?: number;
  signupEnabled?: boolean;
  redis?: Redis;
  rateLimitNamespace?: string;
  role?: 'all' | 'api' | 'runtime';
  metricsToken?: string;
  /** Places outbound calls; without one, POST /calls answers 503 telephony_unavailable. */
  dialer?: CallDialer;
  callLimits?: CallLimits;
  /** The services' clock (call limits, timestamps); the real one when absent. */
  now?: () => Date;
  /** Tool requests' allowed hosts (and host resolution); none allowed when absent. */
  outbound?: ToolOutbound;
  /** The app's live event log (GET /events), for tests that append to it; one of its own when absent. */
  liveEvents?: LiveEventLog;
}

/** An app on a fresh test database, with no user yet. */
export async function createApp(options: HarnessOptions = {}) {
  const database = await createTestDatabase();
  const deps: ServiceDeps = {
    db: database.db,
    secretBox: new SecretBox('test secret key that is long enough to be accepted'),
    publicUrl: 'http://parley.test',
    signupEnabled: options.signupEnabled ?? true,
    sessionTtlMs: 3600_000,
    ...(options.dialer ? { dialer: options.dialer } : {}),
    ...(options.callLimits ? { callLimits: options.callLimits } : {}),
    ...(options.now ? { now: options.now } : {}),
  };
  const app = await buildApp({
    deps,
    version: 'test',
    role: options.role ?? 'all',
    bodyLimitBytes: 64 * 1024,
    trustProxy: false,
    loginRateLimitPerMinute: options.loginRateLimitPerMinute ?? 1000,
    apiRateLimitPerMinute: options.apiRateLimitPerMinute ?? 100_000,
    checkReady: () => readiness(database),
    metricsToken: options.metricsToken,
    ...(options.outbound ? { outbound: options.outbound } : {}),
    ...(options.liveEvents ? { liveEvents: options.liveEvents } : {}),
    ...(options.redis ? { redis: options.redis, rateLimitNamespace: options.rateLimitNamespace } : {}),
  });
  return {
    app,
    deps,
    database,
    client: new Client(app, {}),
    close: async () => {
      await app.close();
      await database.close();
    },
  };
}

export async function createHarness(options: HarnessOptions = {}): Promise<Harness> {
  const { app, deps, database } = await createApp(options);
  const anonymous = new Client(app, {});
  const link = await issueSetupLink(deps);
  const token = new URL(link ?? '').searchParams.get('token') ?? '';
  const operatorEmail = uniqueEmail('operator');
  const setup = await anonymous.post('/api/v1/auth/setup', {
    token,
    email: operatorEmail,
    password: 'correct horse battery',
    name: 'Operator',
    organizationName: 'Operator Org',
  });
  const operator: SignedInUser = {
    client: sessionOf(setup, app),
    userId: setup.body.user.id,
    email: operatorEmail,
    organizationId: setup.body.currentOrganizationId,
  };

  return {
    app,
    deps,
    database,
    operator,
    anonymous,
    async signup(label = 'user') {
      const email = uniqueEmail(label);
      const response = await anonymous.post('/api/v1/auth/signup', {
        email,
        password: 'correct horse battery',
        name: label,
        organizationName: `${label} org`,
      });
      if (response.status !== 201) throw new Error(`signup failed: ${JSON.stringify(response.body)}`);
      return {
        client: sessionOf(response, app),
        userId: response.body.user.id,
        email,
        organizationId: response.body.currentOrganizationId,
      };
    },
    async apiKey(owner, scopes) {
      const response = await owner.client.post('/api/v1/api-keys', {
        name: `key ${scopes.join(' ')}`,
        scopes,
      });
      if (response.status !== 201)
        throw new Error(`api key creation failed: ${JSON.stringify(response.body)}`);
      return new Client(app, { apiKey: response.body.secret });
    },
    async close() {
      await app.close();
      await database.close();
    },
  };
}
