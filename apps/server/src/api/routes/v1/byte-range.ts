// The `Range: bytes=…` request header (RFC 9110 §14): one range, from-to, from- or a suffix -n. A
// header this does not understand (another unit, several ranges, bad syntax) is ignored, as the RFC
// allows, and the whole body is served.

export interface ByteRange {
  start: number;
  /** Inclusive. */
  end: number;
}

/** The range to serve; null for the whole body; `unsatisfiable` when no byte of it exists. */
export function byteRange(header: string | undefined, sizeBytes: number): ByteRange | 'unsatisfiable' | null {
  const match = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null;
  if (!match || (match[1] === '' && match[2] === '')) return null;
  const [, first = '', last = ''] = match;
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0 || sizeBytes === 0) return 'unsatisfiable';
    return { start: Math.max(0, sizeBytes - suffix), end: sizeBytes - 1 };
  }
  const start = Number(first);
  if (last !== '' && Number(last) < start) return null;
  if (start >= sizeBytes) return 'unsatisfiable';
  return { start, end: last === '' ? sizeBytes - 1 : Math.min(Number(last), sizeBytes - 1) };
}
