// Test-only: a minimal EventSource over node:http, as a dashboard's browser would hold one: what
// arrived, parsed, and the last id it was given (what it sends as Last-Event-ID when it reconnects).
import http from 'node:http';
import { expect, vi } from 'vitest';

export interface SseMessage {
  id: string | null;
  event: string;
  data: Record<string, any>;
}

export type SseClient = ReturnType<typeof openSse>;

export function openSse(url: string, headers: Record<string, string>) {
  const messages: SseMessage[] = [];
  const state = { status: 0, lastId: null as string | null };
  const request = http.get(url, { headers: { accept: 'text/event-stream', ...headers } });
  request.on('error', () => {});
  request.on('response', (response) => {
    state.status = response.statusCode ?? 0;
    response.setEncoding('utf8');
    let buffer = '';
    response.on('data', (chunk: string) => {
      buffer += chunk;
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let id: string | null = null;
        let event = 'message';
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith('id: ')) id = line.slice(4);
          else if (line.startsWith('event: ')) event = line.slice(7);
          else if (line.startsWith('data: ')) data.push(line.slice(6));
        }
        if (id !== null) state.lastId = id;
        if (data.length > 0) messages.push({ id, event, data: JSON.parse(data.join('\n')) });
      }
    });
  });
  return {
    messages,
    state,
    opened: () => vi.waitFor(() => expect(state.status).toBe(200), { timeout: 5_000, interval: 5 }),
    waitFor: (match: (message: SseMessage) => boolean) =>
      vi.waitFor(() => expect(messages.some(match)).toBe(true), { timeout: 15_000, interval: 10 }),
    close: () => request.destroy(),
  };
}

/** The `call.status` event that ends a call with `status`. */
export const statusIs = (status: string) => (message: SseMessage) =>
  message.event === 'call.status' && message.data['data']['status'] === status;
