// The call command bus of a single process (the embedded default): runtimes and routes share the
// process, so a command is handed over in memory, but later, in a microtask, as it would arrive from
// Redis — a route sending a command never runs the runtime's handler inside its own request.
import type { FastifyBaseLogger } from 'fastify';
import {
  CallCommandBusClosedError,
  deliverCallCommand,
  type CallCommandBus,
  type CallCommandHandler,
  type Unsubscribe,
} from './call-command-bus.js';
import type { CallCommand } from './call-commands.js';

export class InProcessCallCommandBus implements CallCommandBus {
  private readonly listeners = new Map<string, Set<CallCommandHandler>>();
  private closed = false;

  constructor(private readonly logger: FastifyBaseLogger) {}

  send(runtimeId: string, command: CallCommand): Promise<void> {
    if (this.closed) return Promise.reject(new CallCommandBusClosedError());
    queueMicrotask(() => {
      // The listeners at delivery time: one unsubscribed in the meantime no longer hears it.
      for (const handler of [...(this.listeners.get(runtimeId) ?? [])]) {
        void deliverCallCommand(handler, command, this.logger);
      }
    });
    return Promise.resolve();
  }

  listen(runtimeId: string, handler: CallCommandHandler): Promise<Unsubscribe> {
    if (this.closed) return Promise.reject(new CallCommandBusClosedError());
    // A handler registered twice is two listeners, as with Redis: each gets its own wrapper.
    const listener: CallCommandHandler = (command) => handler(command);
    const handlers = this.listeners.get(runtimeId) ?? new Set();
    handlers.add(listener);
    this.listeners.set(runtimeId, handlers);
    return Promise.resolve(() => {
      handlers.delete(listener);
      if (handlers.size === 0 && this.listeners.get(runtimeId) === handlers) this.listeners.delete(runtimeId);
      return Promise.resolve();
    });
  }

  close(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
    return Promise.resolve();
  }
}
