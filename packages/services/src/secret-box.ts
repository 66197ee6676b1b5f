import {
  createCipheriv,
  createDecipheriv,
  createHash,
  hkdfSync,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';

const IV_BYTES = 12;
const TAG_BYTES = 16;

interface Key {
  id: string;
  bytes: Buffer;
}

function deriveKey(secret: string): Key {
  const bytes = Buffer.from(hkdfSync('sha256', secret, 'parley', 'parley credentials v1', 32));
  // The id names the key without revealing it, so a row says which key sealed it.
  const id = createHash('sha256').update(bytes).digest('hex').slice(0, 16);
  return { id, bytes };
}

export interface Sealed {
  keyId: string;
  ciphertext: string;
}

/**
 * AES-256-GCM encryption of tenant secrets under a key derived (HKDF-SHA256) from PARLEY_SECRET_KEY.
 * Older secrets still open what they sealed, so the instance secret can be rotated: seal with the new
 * one, keep the old ones in PARLEY_PREVIOUS_SECRET_KEYS until `parley credentials rotate` has run.
 */
export class SecretBox {
  private readonly primary: Key;
  private readonly keys = new Map<string, Key>();

  constructor(secret: string, previousSecrets: readonly string[] = []) {
    this.primary = deriveKey(secret);
    for (const key of [this.primary, ...previousSecrets.map(deriveKey)]) this.keys.set(key.id, key);
  }

  get keyId(): string {
    return this.primary.id;
  }

  seal(plaintext: string): Sealed {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.primary.bytes, iv);
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return {
      keyId: this.primary.id,
      ciphertext: Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64'),
    };
  }

  open(sealed: Sealed): string {
    const key = this.keys.get(sealed.keyId);
    if (!key)
      throw new Error(`No secret key with id ${sealed.keyId} is configured (was PARLEY_SECRET_KEY changed?)`);
    const raw = Buffer.from(sealed.ciphertext, 'base64');
    const decipher = createDecipheriv('aes-256-gcm', key.bytes, raw.subarray(0, IV_BYTES));
    decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString(
      'utf8',
    );
  }
}

/** Random tokens (sessions, invitations, setup links, API keys) are stored only as their SHA-256. */
export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');
export const randomToken = (bytes = 32) => randomBytes(bytes).toString('base64url');

/** Compares two secrets (or their hashes) in time that does not depend on where they differ. */
export function constantTimeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
