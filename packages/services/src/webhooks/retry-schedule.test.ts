import { describe, expect, it } from 'vitest';
import { nextAttemptAt, WEBHOOK_MAX_ATTEMPTS, WEBHOOK_RETRY_DELAYS_MS } from './retry-schedule.js';

const hour = 3_600_000;

describe('the webhook retry schedule', () => {
  it('grows from 30 s, is capped at an hour, and spans about a day', () => {
    expect(WEBHOOK_RETRY_DELAYS_MS.slice(0, 4)).toEqual([30_000, 60_000, 120_000, 300_000]);
    for (let i = 1; i < WEBHOOK_RETRY_DELAYS_MS.length; i++) {
      expect(WEBHOOK_RETRY_DELAYS_MS[i]).toBeGreaterThanOrEqual(WEBHOOK_RETRY_DELAYS_MS[i - 1]!);
    }
    expect(Math.max(...WEBHOOK_RETRY_DELAYS_MS)).toBe(hour);
    const total = WEBHOOK_RETRY_DELAYS_MS.reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThan(23 * hour);
    expect(total).toBeLessThanOrEqual(24 * hour);
    expect(WEBHOOK_MAX_ATTEMPTS).toBe(30);
  });

  it('jitters each delay by at most 10 % and stops after the last attempt', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    expect(nextAttemptAt(1, now, () => 0.5)!.getTime() - now.getTime()).toBe(30_000);
    expect(nextAttemptAt(1, now, () => 0)!.getTime() - now.getTime()).toBe(27_000);
    expect(nextAttemptAt(1, now, () => 0.999_999)!.getTime() - now.getTime()).toBe(33_000);
    expect(nextAttemptAt(WEBHOOK_MAX_ATTEMPTS - 1, now, () => 0.5)).not.toBeNull();
    expect(nextAttemptAt(WEBHOOK_MAX_ATTEMPTS, now, () => 0.5)).toBeNull();
  });
});
