// How the media socket of a simulated call (`parley call simulate`) speaks each carrier's protocol: the
// carrier's own transport accepts the stream, and the media token is read where that carrier's stream
// carries it — Twilio's and Exotel's custom parameters, Plivo's and Vobiz's hex-encoded extra headers,
// the parameters in Telnyx's client_state. So a simulated call exercises the same transport and token
// path as a real call of that carrier; only the carrier's signature (there is no account) is missing.
import {
  ExotelMediaTransport,
  PlivoMediaTransport,
  TelnyxMediaTransport,
  TwilioMediaTransport,
  VobizMediaTransport,
} from '@parley/telephony';
import type { CallTransport } from '@parley/voice';
import type { WebSocket } from 'ws';
import { plivoFamilyMediaToken } from './plivo-family-routes.js';
import type { SimulatedCarrier } from './simulation-contract.js';

export type { SimulatedCarrier } from './simulation-contract.js';

/** A started stream: its transport, the token it presented ('' for none), and how to turn it away. */
export interface SimulatedStream {
  transport: CallTransport;
  mediaToken: string;
  refuse(): Promise<void>;
}

interface SimulatedMediaProtocol {
  /** Rejects with the carrier's MediaStreamError when no valid `start` arrives in time. */
  accept(socket: WebSocket, callId: string, options: { startTimeoutMs: number }): Promise<SimulatedStream>;
}

/** Twilio's and Exotel's custom parameters, where Telnyx's transport also puts client_state's. */
const tokenParameter = (start: { customParameters: Record<string, string> }) =>
  start.customParameters['token'] ?? '';

const hangingUp = (transport: CallTransport) => async () => {
  await transport.hangUp('unauthorised');
};

const PROTOCOLS: Record<SimulatedCarrier, SimulatedMediaProtocol> = {
  twilio: {
    async accept(socket, _callId, options) {
      const { transport, start } = await TwilioMediaTransport.accept(socket, options);
      return { transport, mediaToken: tokenParameter(start), refuse: hangingUp(transport) };
    },
  },
  plivo: {
    async accept(socket, callId, options) {
      const { transport, start } = await PlivoMediaTransport.accept(socket, options);
      return {
        transport,
        mediaToken: plivoFamilyMediaToken(start, callId) ?? '',
        refuse: hangingUp(transport),
      };
    },
  },
  vobiz: {
    async accept(socket, callId, options) {
      const { transport, start } = await VobizMediaTransport.accept(socket, options);
      return {
        transport,
        mediaToken: plivoFamilyMediaToken(start, callId) ?? '',
        refuse: hangingUp(transport),
      };
    },
  },
  exotel: {
    async accept(socket, _callId, options) {
      const { transport, start } = await ExotelMediaTransport.accept(socket, options);
      return { transport, mediaToken: tokenParameter(start), refuse: hangingUp(transport) };
    },
  },
  telnyx: {
    async accept(socket, _callId, options) {
      // No Call Control: a simulated call has no carrier leg, so closing the socket is the hang-up.
      const { transport, start } = await TelnyxMediaTransport.accept(socket, options);
      return {
        transport,
        mediaToken: tokenParameter(start),
        // As on Telnyx's own route: only the socket is closed for a stream that is not the call's.
        refuse: async () => {
          socket.close(1008, 'unauthorised');
        },
      };
    },
  },
};

export function acceptSimulatedStream(
  carrier: SimulatedCarrier,
  socket: WebSocket,
  callId: string,
  options: { startTimeoutMs: number },
): Promise<SimulatedStream> {
  return PROTOCOLS[carrier].accept(socket, callId, options);
}
