// A minimal incremental Server-Sent Events parser (the WHATWG event-stream grammar, minus `retry`):
// bytes may be split anywhere, lines end in \n, \r\n or \r, `:` lines are comments (keep-alive pings),
// and several `data:` lines of one event are joined with \n.

export interface SseEvent {
  /** The `event:` field, or 'message' when absent. */
  event: string;
  data: string;
  id?: string;
}

export class SseParser {
  private readonly decoder = new TextDecoder();
  private buffer = '';
  /** A \r ended the previous chunk: a \n opening the next one belongs to the same line break. */
  private skipLeadingLf = false;
  private dataLines: string[] = [];
  private eventName = '';
  private eventId: string | undefined;

  /** Feeds bytes (or text) and returns the events they complete. */
  push(chunk: Uint8Array | string): SseEvent[] {
    let text = typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true });
    if (this.skipLeadingLf && text.length > 0) {
      if (text.startsWith('\n')) text = text.slice(1);
      this.skipLeadingLf = false;
    }
    this.buffer += text;
    return this.drainLines();
  }

  /**
   * Ends the stream. Lenient on purpose: a final event without its blank line is still delivered,
   * since some OpenAI-compatible servers close right after `data: [DONE]`.
   */
  end(): SseEvent[] {
    this.buffer += this.decoder.decode();
    const events = this.drainLines();
    if (this.buffer.length > 0) {
      this.processLine(this.buffer, events);
      this.buffer = '';
    }
    this.dispatch(events);
    return events;
  }

  private drainLines(): SseEvent[] {
    const events: SseEvent[] = [];
    let start = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const ch = this.buffer.charCodeAt(i);
      if (ch !== 0x0a && ch !== 0x0d) continue;
      this.processLine(this.buffer.slice(start, i), events);
      if (ch === 0x0d) {
        if (i + 1 < this.buffer.length) {
          if (this.buffer.charCodeAt(i + 1) === 0x0a) i++;
        } else {
          this.skipLeadingLf = true;
        }
      }
      start = i + 1;
    }
    this.buffer = this.buffer.slice(start);
    return events;
  }

  private processLine(line: string, events: SseEvent[]): void {
    if (line === '') {
      this.dispatch(events);
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.dataLines.push(value);
    else if (field === 'event') this.eventName = value;
    else if (field === 'id') this.eventId = value;
  }

  private dispatch(events: SseEvent[]): void {
    if (this.dataLines.length > 0) {
      const event: SseEvent = { event: this.eventName || 'message', data: this.dataLines.join('\n') };
      if (this.eventId !== undefined) event.id = this.eventId;
      events.push(event);
    }
    this.dataLines = [];
    this.eventName = '';
  }
}
