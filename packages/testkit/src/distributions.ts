// Latency distributions for the simulators. Seeded so a bench run or a test is reproducible: the same
// seed gives the same sequence of latencies.

/** Draws one value (milliseconds, for the simulators) per call. */
export type Distribution = { sample(): number };

/** A source of uniform numbers in [0, 1), like Math.random. */
export type RandomSource = () => number;

/** mulberry32: tiny, fast and good enough for latency jitter (not for anything secret). */
export function seededRandom(seed: number): RandomSource {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function constant(ms: number): Distribution {
  return { sample: () => ms };
}

export function uniform(minMs: number, maxMs: number, rng: RandomSource): Distribution {
  if (maxMs < minMs) throw new RangeError(`uniform: maxMs (${maxMs}) is below minMs (${minMs})`);
  return { sample: () => minMs + (maxMs - minMs) * rng() };
}

/** z-score of the 99th percentile of the standard normal distribution. */
const Z_P99 = 2.3263478740408408;

/**
 * A log-normal distribution fitted to a median and a 99th percentile, the two numbers vendors and
 * benchmarks usually publish: median = e^mu, p99 = e^(mu + 2.326 sigma).
 */
export function lognormalFromPercentiles(p50: number, p99: number, rng: RandomSource): Distribution {
  if (!(p50 > 0) || !(p99 >= p50)) {
    throw new RangeError(`lognormalFromPercentiles: need 0 < p50 <= p99 (got ${p50}, ${p99})`);
  }
  const mu = Math.log(p50);
  const sigma = Math.log(p99 / p50) / Z_P99;
  return { sample: () => Math.exp(mu + sigma * standardNormal(rng)) };
}

/** Box–Muller transform; `1 - rng()` keeps the logarithm away from zero. */
function standardNormal(rng: RandomSource): number {
  const u1 = 1 - rng();
  const u2 = rng();
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}
