/**
 * When a failed delivery is tried again: the delay after attempt 1, 2, 3, … (then it is abandoned).
 * Quick retries for a blip, then hourly (the cap) through a day-long outage: 30 attempts over about
 * 23 h 48 min. docs/webhooks.md shows this table; change both together.
 */
export const WEBHOOK_RETRY_DELAYS_MS: readonly number[] = [
  30_000, // 30 s
  60_000, // 1 min
  120_000, // 2 min
  300_000, // 5 min
  600_000, // 10 min
  1_800_000, // 30 min
  // Then hourly, 23 times.
  ...Array.from({ length: 23 }, () => 3_600_000),
];

/** Attempts in all: the first plus one per delay. */
export const WEBHOOK_MAX_ATTEMPTS = WEBHOOK_RETRY_DELAYS_MS.length + 1;

/** Delays vary by up to ±10 %, so deliveries that failed together do not all return together. */
export const RETRY_JITTER = 0.1;

/**
 * When to try again after the `attempts`-th attempt failed, or null when that was the last one.
 * `random` is in [0, 1) (Math.random unless a test pins it).
 */
export function nextAttemptAt(attempts: number, now: Date, random: () => number = Math.random): Date | null {
  const delay = WEBHOOK_RETRY_DELAYS_MS[attempts - 1];
  if (delay === undefined) return null;
  const jitter = 1 + RETRY_JITTER * (2 * random() - 1);
  return new Date(now.getTime() + Math.round(delay * jitter));
}
