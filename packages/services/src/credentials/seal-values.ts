import {
  CREDENTIAL_PROVIDERS,
  fieldIssues,
  parseCredentialValues,
  type CredentialProvider,
} from '@parley/contracts';
import { ServiceError } from '../errors.js';
import type { SecretBox } from '../secret-box.js';

export interface SealedValues {
  keyId: string;
  ciphertext: string;
  publicValues: Record<string, string>;
  hint: string;
}

/** Shows just enough of a secret to recognise it; short secrets show nothing at all. */
export function maskSecret(secret: string): string {
  return secret.length >= 20 ? `${secret.slice(0, 3)}…${secret.slice(-4)}` : '••••';
}

/**
 * Validates the values of a credential against its provider, encrypts the secret fields and keeps the
 * others in clear (they tell credentials apart). Field errors name `values.<field>`.
 */
export function sealCredentialValues(
  box: SecretBox,
  provider: CredentialProvider,
  values: unknown,
): SealedValues {
  const parsed = parseCredentialValues(provider, values);
  if (!parsed.success) {
    const details = fieldIssues(parsed.error, ['values']);
    const summary = details.map((d) => `${d.path}: ${d.message}`).join('; ');
    throw new ServiceError('invalid_request', `Invalid ${provider} credential: ${summary}`, details);
  }
  const secretFields: readonly string[] = CREDENTIAL_PROVIDERS[provider].secretFields;
  const secretPart: Record<string, string> = {};
  const publicValues: Record<string, string> = {};
  for (const [field, value] of Object.entries(parsed.data as Record<string, string | undefined>)) {
    if (value === undefined) continue;
    if (secretFields.includes(field)) secretPart[field] = value;
    else publicValues[field] = value;
  }
  const first = secretFields[0];
  return {
    ...box.seal(JSON.stringify(secretPart)),
    publicValues,
    hint: maskSecret(first ? (secretPart[first] ?? '') : ''),
  };
}

/** The secret fields of a sealed credential. */
export function openSecretPart(box: SecretBox, sealed: { keyId: string; ciphertext: string }) {
  let plaintext: string;
  try {
    plaintext = box.open(sealed);
  } catch {
    throw new ServiceError(
      'internal_error',
      `A credential could not be decrypted: it was sealed with a key this instance lacks (key id ${sealed.keyId}; ` +
        'add the old secret to PARLEY_PREVIOUS_SECRET_KEYS) or its ciphertext was altered',
    );
  }
  return JSON.parse(plaintext) as Record<string, string>;
}
