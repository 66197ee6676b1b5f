// What `parley call simulate` and the server's simulation routes agree on, in a module of its own: the
// CLI reads it without loading the routes or the carriers' media transports.

/** The operator routes (operator-signed) that create a simulated call and report on it. */
export const SIMULATIONS_PATH = '/internal/simulations';

/** Carriers whose protocol the simulated media socket speaks. */
export const SIMULATED_CARRIERS = ['twilio', 'plivo', 'vobiz', 'exotel', 'telnyx'] as const;
export type SimulatedCarrier = (typeof SIMULATED_CARRIERS)[number];

export function isSimulatedCarrier(value: string): value is SimulatedCarrier {
  return (SIMULATED_CARRIERS as readonly string[]).includes(value);
}
