// The call history as CSV: one header line, then one line per call, produced as the calls are read.
// Cells are quoted when they hold a quote, comma or line break; a cell a spreadsheet would run as a
// formula (starting with = + - @, or a tab or carriage return) is prefixed with a single quote, so
// phone numbers read '+14155550123.
import type { Call } from '@parley/contracts';

/** The columns, in order (documented in docs/api.md). */
export const CALL_CSV_COLUMNS = [
  ['id', (c) => c.id],
  ['createdAt', (c) => c.createdAt],
  ['direction', (c) => c.direction],
  ['carrier', (c) => c.transport],
  ['status', (c) => c.status],
  ['endReason', (c) => c.endReason],
  ['carrierReason', (c) => c.carrierReason],
  ['from', (c) => c.from],
  ['to', (c) => c.to],
  ['agentId', (c) => c.agentId],
  ['agentVersion', (c) => c.agentVersion],
  ['answeredBy', (c) => c.answeredBy],
  ['answeredAt', (c) => c.answeredAt],
  ['endedAt', (c) => c.endedAt],
  ['ringSeconds', (c) => c.durations.ringSeconds],
  ['durationSeconds', (c) => c.durationSeconds],
  ['totalSeconds', (c) => c.durations.totalSeconds],
  ['recordingDurationMs', (c) => c.recording.durationMs],
] as const satisfies readonly (readonly [string, (c: Call) => string | number | null])[];

const FORMULA_START = /^[=+\-@\t\r]/;

export function csvCell(value: string | number | null): string {
  if (value === null) return '';
  if (typeof value === 'number') return String(value);
  const text = FORMULA_START.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

const line = (cells: string[]) => `${cells.join(',')}\r\n`;

export async function* callsCsv(calls: AsyncIterable<Call>): AsyncIterable<string> {
  yield line(CALL_CSV_COLUMNS.map(([name]) => name));
  for await (const call of calls) yield line(CALL_CSV_COLUMNS.map(([, cell]) => csvCell(cell(call))));
}
