import { and, asc, credentials, eq, gt, ne } from '@parley/db';
import { audit } from '../audit.js';
import { requireInstanceAdmin, type ServiceContext } from '../context.js';

export interface RotationResult {
  /** The key every re-sealed credential is now encrypted with. */
  keyId: string;
  resealed: number;
  /** Credentials sealed with a key this instance lacks: left untouched, to retry with that key configured. */
  failed: { id: string; organizationId: string; keyId: string }[];
}

const BATCH = 100;

/**
 * `parley credentials rotate`: re-encrypts every credential sealed with an older key under the current
 * PARLEY_SECRET_KEY, so the old secret can then be dropped from PARLEY_PREVIOUS_SECRET_KEYS.
 */
export async function rotateCredentialEncryption(ctx: ServiceContext): Promise<RotationResult> {
  requireInstanceAdmin(ctx);
  const box = ctx.secretBox;
  return ctx.db.transaction(async (tx) => {
    const failed: RotationResult['failed'] = [];
    let resealed = 0;
    let after: string | undefined;
    for (;;) {
      const rows = await tx
        .select()
        .from(credentials)
        .where(and(ne(credentials.keyId, box.keyId), after ? gt(credentials.id, after) : undefined))
        .orderBy(asc(credentials.id))
        .limit(BATCH)
        .for('update');
      for (const row of rows) {
        let plaintext: string;
        try {
          plaintext = box.open(row);
        } catch {
          failed.push({ id: row.id, organizationId: row.organizationId, keyId: row.keyId });
          continue;
        }
        // updatedAt stays: the credential's values did not change, only their encryption.
        await tx.update(credentials).set(box.seal(plaintext)).where(eq(credentials.id, row.id));
        resealed += 1;
      }
      if (rows.length < BATCH) break;
      after = rows.at(-1)?.id;
    }
    await audit(tx, ctx, {
      organizationId: null,
      action: 'credential.rotate_encryption',
      targetType: 'credential',
      details: { keyId: box.keyId, resealed, failed: failed.length },
    });
    return { keyId: box.keyId, resealed, failed };
  });
}
