#!/usr/bin/env node
import { existsSync } from 'node:fs';
import { ConfigError, parseConfig } from './config.js';
import { parseOptions, UsageError } from './cli/args.js';
import {
  adminCommand,
  apiKeyCreateCommand,
  credentialsRotateCommand,
  doctorCommand,
  migrateCommand,
  userCreateCommand,
} from './cli/commands.js';
import { CALL_SIMULATE_USAGE, callSimulateCommand } from './cli/call-simulate.js';
import { serve } from './cli/serve.js';
import { VERSION } from './version.js';

const USAGE = `parley ${VERSION}: self-hostable AI voice agents

Usage:
  parley serve [--port N] [--host H] [--role all|api|runtime]   start the server (applies migrations)
  parley migrate                                               apply database migrations
  parley user create --email E [--name N] [--organization O] [--instance-admin]
                                                               create a user (password from PARLEY_USER_PASSWORD)
  parley api-key create --organization ID [--name N] [--scopes a,b]   create an API key
  parley admin grant|revoke <email>                            make or unmake an instance administrator
  parley credentials rotate                                    re-encrypt credentials with PARLEY_SECRET_KEY
  parley doctor                                                check configuration and database
  parley call simulate --agent ID [--carrier twilio|plivo|vobiz|exotel|telnyx] [--say "text" ...] [--url URL]
                                                               a whole call to the running server through
                                                               simulators, over the carrier's media
                                                               protocol: transcript and per-turn latency

Configuration comes from the environment and an optional .env file (see the README).`;

async function run(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    console.log(USAGE);
    return 0;
  }
  if (command === '--version' || command === 'version') {
    console.log(VERSION);
    return 0;
  }
  // .env fills in what the environment does not set; the environment wins.
  if (existsSync('.env')) process.loadEnvFile('.env');
  const env = { ...process.env };
  if (command === 'serve') {
    const { values } = parseOptions(rest, {
      port: { type: 'string' },
      host: { type: 'string' },
      role: { type: 'string' },
    });
    if (typeof values.port === 'string') env.PARLEY_PORT = values.port;
    if (typeof values.host === 'string') env.PARLEY_HOST = values.host;
    if (typeof values.role === 'string') env.PARLEY_ROLE = values.role;
    await serve(parseConfig(env));
    return -1; // keeps running
  }
  const config = parseConfig(env);
  const [sub, ...args] = rest;
  switch (command) {
    case 'migrate':
      await migrateCommand(config);
      return 0;
    case 'doctor':
      return doctorCommand(config, env);
    case 'user':
      if (sub !== 'create') throw new UsageError('usage: parley user create --email E ...');
      await userCreateCommand(config, args);
      return 0;
    case 'api-key':
      if (sub !== 'create') throw new UsageError('usage: parley api-key create --organization ID ...');
      await apiKeyCreateCommand(config, args);
      return 0;
    case 'credentials':
      if (sub !== 'rotate' || args.length > 0) throw new UsageError('usage: parley credentials rotate');
      return credentialsRotateCommand(config);
    case 'admin':
      await adminCommand(config, rest);
      return 0;
    case 'call':
      if (sub !== 'simulate') throw new UsageError(CALL_SIMULATE_USAGE);
      return callSimulateCommand(config, args);
    default:
      throw new UsageError(`unknown command "${command}"\n\n${USAGE}`);
  }
}

run(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (error: unknown) => {
    if (error instanceof ConfigError || error instanceof UsageError) {
      console.error(error.message);
      process.exit(2);
    }
    const serviceCode = (error as { code?: string }).code;
    console.error(`parley: ${(error as Error).message}${serviceCode ? ` (${serviceCode})` : ''}`);
    process.exit(1);
  },
);
