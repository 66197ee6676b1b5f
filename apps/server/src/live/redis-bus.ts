// The call command bus across processes (REDIS_URL set): each runtime subscribes to its own channel,
// `parley:runtime:<runtimeId>:commands`, and a command is published there as JSON. Subscribing takes a
// connection of its own (a subscribed Redis connection can do nothing else), duplicated from the
// process's client; ioredis reconnects it and subscribes again by itself after a network failure.
// Commands published while a runtime is disconnected are lost, as pub/sub does not keep them.
import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';
import { describeError } from '../logger.js';
import {
  CallCommandBusClosedError,
  deliverCallCommand,
  type CallCommandBus,
  type CallCommandHandler,
  type Unsubscribe,
} from './call-command-bus.js';
import { parseCallCommand, type CallCommand } from './call-commands.js';

export interface RedisCallCommandBusOptions {
  /** The process's Redis client: commands are published on it, and the subscriber is its duplicate. */
  redis: Redis;
  logger: FastifyBaseLogger;
  /** The first part of every channel name (default `parley`); tests use their own to stay apart. */
  channelPrefix?: string;
}

interface Subscription {
  handlers: Set<CallCommandHandler>;
  /** Settles once Redis has confirmed the subscription: only then may a listener count on commands. */
  ready: Promise<unknown>;
}

export class RedisCallCommandBus implements CallCommandBus {
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly prefix: string;
  private closed = false;
  private droppedMessages = 0;

  private constructor(
    private readonly options: RedisCallCommandBusOptions,
    private readonly subscriber: Redis,
  ) {
    this.prefix = options.channelPrefix ?? 'parley';
    subscriber.on('message', (channel: string, message: string) => this.receive(channel, message));
    // Without a listener ioredis prints connection errors itself; it retries on its own either way.
    subscriber.on('error', (error: unknown) => {
      options.logger.warn({ error: describeError(error) }, 'call command subscriber: Redis error');
    });
  }

  /** Opens the subscriber connection; rejects when Redis cannot be reached. */
  static async connect(options: RedisCallCommandBusOptions): Promise<RedisCallCommandBus> {
    const subscriber = options.redis.duplicate({ lazyConnect: true });
    const bus = new RedisCallCommandBus(options, subscriber);
    await subscriber.connect();
    return bus;
  }

  /** Messages on a command channel that were not a command (not JSON, unknown type, bad fields). */
  get dropped(): number {
    return this.droppedMessages;
  }

  async send(runtimeId: string, command: CallCommand): Promise<void> {
    if (this.closed) throw new CallCommandBusClosedError();
    await this.options.redis.publish(this.channelOf(runtimeId), JSON.stringify(command));
  }

  async listen(runtimeId: string, handler: CallCommandHandler): Promise<Unsubscribe> {
    if (this.closed) throw new CallCommandBusClosedError();
    const channel = this.channelOf(runtimeId);
    const listener: CallCommandHandler = (command) => handler(command);
    let subscription = this.subscriptions.get(channel);
    if (!subscription) {
      subscription = { handlers: new Set(), ready: this.subscriber.subscribe(channel) };
      this.subscriptions.set(channel, subscription);
    }
    subscription.handlers.add(listener);
    try {
      await subscription.ready;
    } catch (error) {
      subscription.handlers.delete(listener);
      if (this.subscriptions.get(channel) === subscription && subscription.handlers.size === 0) {
        this.subscriptions.delete(channel);
      }
      throw error;
    }
    const current = subscription;
    return async () => {
      current.handlers.delete(listener);
      if (current.handlers.size > 0 || this.subscriptions.get(channel) !== current) return;
      this.subscriptions.delete(channel);
      if (!this.closed) await this.subscriber.unsubscribe(channel);
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const channels = [...this.subscriptions.keys()];
    this.subscriptions.clear();
    try {
      if (channels.length > 0) await this.subscriber.unsubscribe(...channels);
      await this.subscriber.quit();
    } catch {
      // Redis is unreachable: there is nothing left to unsubscribe from.
      this.subscriber.disconnect();
    }
  }

  private channelOf(runtimeId: string): string {
    return `${this.prefix}:runtime:${runtimeId}:commands`;
  }

  private receive(channel: string, message: string): void {
    const handlers = this.subscriptions.get(channel)?.handlers;
    if (!handlers) return;
    const value = parseJson(message);
    const command = parseCallCommand(value);
    if (!command) {
      this.droppedMessages += 1;
      // Only the type it claims is logged: the rest could carry anything, personal data included.
      this.options.logger.warn(
        { channel, commandType: claimedType(value), dropped: this.droppedMessages },
        'dropped a message on a call command channel that is not a call command',
      );
      return;
    }
    for (const handler of [...handlers]) void deliverCallCommand(handler, command, this.options.logger);
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The `type` a message claims, when it looks like a command type (anything else is not logged). */
function claimedType(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || !('type' in value)) return undefined;
  const { type } = value;
  return typeof type === 'string' && /^[a-z_]{1,32}$/.test(type) ? type : undefined;
}
