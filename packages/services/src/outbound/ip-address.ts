import { isIPv4, isIPv6 } from 'node:net';

/** The 4 bytes of a dotted IPv4 address, or undefined when the text is not one. */
export function parseIPv4(text: string): Uint8Array | undefined {
  if (!isIPv4(text)) return undefined;
  return Uint8Array.from(text.split('.'), Number);
}

/**
 * The 16 bytes of an IPv6 address (with or without a zone id or a dotted IPv4 tail), or undefined when
 * the text is not one.
 */
export function parseIPv6(text: string): Uint8Array | undefined {
  const bare = text.split('%', 1)[0] ?? '';
  if (!isIPv6(bare)) return undefined;
  const bytes = new Uint8Array(16);
  let hex = bare;
  const lastColon = bare.lastIndexOf(':');
  const dottedTail = bare.includes('.') ? parseIPv4(bare.slice(lastColon + 1)) : undefined;
  if (dottedTail) {
    bytes.set(dottedTail, 12);
    hex = `${bare.slice(0, lastColon + 1)}0:0`;
  }
  const [left = '', right] = hex.split('::');
  const head = left === '' ? [] : left.split(':');
  const tail = right === undefined || right === '' ? [] : right.split(':');
  const groups = [...head, ...Array<string>(8 - head.length - tail.length).fill('0'), ...tail];
  groups.forEach((group, index) => {
    // The dotted tail already filled the last two groups.
    if (dottedTail && index >= 6) return;
    const value = Number.parseInt(group, 16);
    bytes[index * 2] = value >> 8;
    bytes[index * 2 + 1] = value & 0xff;
  });
  return bytes;
}

/** Whether the first `bits` bits of `bytes` equal those of `prefix`. */
export function hasPrefix(bytes: Uint8Array, prefix: Uint8Array, bits: number): boolean {
  for (let bit = 0; bit < bits; bit += 8) {
    const remaining = Math.min(8, bits - bit);
    const mask = (0xff << (8 - remaining)) & 0xff;
    if (((bytes[bit / 8] ?? 0) & mask) !== ((prefix[bit / 8] ?? 0) & mask)) return false;
  }
  return true;
}
