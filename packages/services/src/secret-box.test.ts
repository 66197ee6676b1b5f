import { describe, expect, it } from 'vitest';
import { SecretBox } from './secret-box.js';

describe('SecretBox', () => {
  const box = new SecretBox('a'.repeat(40));

  it('seals with AES-GCM so the ciphertext hides the plaintext and differs each time', () => {
    const a = box.seal('sk-live-123456');
    const b = box.seal('sk-live-123456');
    expect(a.ciphertext).not.toEqual(b.ciphertext);
    expect(Buffer.from(a.ciphertext, 'base64').toString('latin1')).not.toContain('sk-live');
    expect(box.open(a)).toBe('sk-live-123456');
  });

  it('detects tampering', () => {
    const sealed = box.seal('secret');
    const raw = Buffer.from(sealed.ciphertext, 'base64');
    raw[raw.length - 1] = (raw[raw.length - 1] ?? 0) ^ 1;
    expect(() => box.open({ ...sealed, ciphertext: raw.toString('base64') })).toThrow();
  });

  it('opens what an earlier key sealed once that key is listed as previous, and says which key is missing otherwise', () => {
    const old = new SecretBox('o'.repeat(40));
    const sealed = old.seal('token');
    const rotated = new SecretBox('n'.repeat(40), ['o'.repeat(40)]);
    expect(rotated.open(sealed)).toBe('token');
    expect(rotated.keyId).not.toBe(old.keyId);
    expect(() => new SecretBox('n'.repeat(40)).open(sealed)).toThrow(/No secret key with id/);
  });
});
