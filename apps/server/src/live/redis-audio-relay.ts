// The call audio relay across processes (REDIS_URL set): the runtime carrying a tapped call publishes
// on `parley:call:<callId>:audio`, and every process with a listener of that call subscribes there. A
// message is one tag byte then its body: 1 = audio (raw PCM, no JSON or base64 on the audio path),
// 2 = a JSON control message (start, end). Subscribing takes a connection of its own, duplicated from
// the process's client, shared by all the calls this process listens to.
import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';
import { describeError } from '../logger.js';
import type { Unsubscribe } from './call-command-bus.js';
import {
  deliverCallAudio,
  type CallAudioHandler,
  type CallAudioMessage,
  type CallAudioRelay,
} from './call-audio-relay.js';

const AUDIO = 1;
const CONTROL = 2;

export interface RedisCallAudioRelayOptions {
  /** The process's Redis client: audio is published on it, and the subscriber is its duplicate. */
  redis: Redis;
  logger: FastifyBaseLogger;
  /** The first part of every channel name (default `parley`); tests use their own to stay apart. */
  channelPrefix?: string;
}

interface Subscription {
  handlers: Set<CallAudioHandler>;
  ready: Promise<unknown>;
}

export class RedisCallAudioRelay implements CallAudioRelay {
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly prefix: string;
  private closed = false;
  private publishFailures = 0;

  private constructor(
    private readonly options: RedisCallAudioRelayOptions,
    private readonly subscriber: Redis,
  ) {
    this.prefix = options.channelPrefix ?? 'parley';
    subscriber.on('messageBuffer', (channel: Buffer, message: Buffer) =>
      this.receive(channel.toString(), message),
    );
    subscriber.on('error', (error: unknown) => {
      options.logger.warn({ error: describeError(error) }, 'call audio subscriber: Redis error');
    });
  }

  /** Opens the subscriber connection; rejects when Redis cannot be reached. */
  static async connect(options: RedisCallAudioRelayOptions): Promise<RedisCallAudioRelay> {
    const subscriber = options.redis.duplicate({ lazyConnect: true });
    const relay = new RedisCallAudioRelay(options, subscriber);
    await subscriber.connect();
    return relay;
  }

  publish(callId: string, message: CallAudioMessage): void {
    if (this.closed) return;
    const body =
      message.type === 'audio'
        ? Buffer.concat([Buffer.of(AUDIO), message.pcm])
        : Buffer.concat([Buffer.of(CONTROL), Buffer.from(JSON.stringify(message))]);
    this.options.redis.publish(this.channelOf(callId), body).catch((error: unknown) => {
      // At ten chunks a second, one line per failure would flood the log while Redis is away.
      this.publishFailures += 1;
      if (this.publishFailures === 1 || this.publishFailures % 100 === 0) {
        this.options.logger.warn(
          { error: describeError(error), callId, failures: this.publishFailures },
          'call audio not published',
        );
      }
    });
  }

  async subscribe(callId: string, handler: CallAudioHandler): Promise<Unsubscribe> {
    const channel = this.channelOf(callId);
    const listener: CallAudioHandler = (message) => handler(message);
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
      if (!this.closed) await this.subscriber.unsubscribe(channel).catch(() => {});
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
      this.subscriber.disconnect();
    }
  }

  private channelOf(callId: string): string {
    return `${this.prefix}:call:${callId}:audio`;
  }

  private receive(channel: string, body: Buffer): void {
    const handlers = this.subscriptions.get(channel)?.handlers;
    if (!handlers || body.length === 0) return;
    const message = decode(body);
    if (!message) {
      this.options.logger.warn({ channel }, 'dropped a message on a call audio channel that is not one');
      return;
    }
    for (const handler of [...handlers]) deliverCallAudio(handler, message, this.options.logger);
  }
}

function decode(body: Buffer): CallAudioMessage | null {
  if (body[0] === AUDIO) return { type: 'audio', pcm: body.subarray(1) };
  if (body[0] !== CONTROL) return null;
  try {
    const value = JSON.parse(body.subarray(1).toString()) as Record<string, unknown>;
    if (value['type'] === 'start' && typeof value['sampleRateHz'] === 'number') {
      return { type: 'start', sampleRateHz: value['sampleRateHz'] };
    }
    if (value['type'] === 'end' && typeof value['reason'] === 'string') {
      return { type: 'end', reason: value['reason'] };
    }
    return null;
  } catch {
    return null;
  }
}
