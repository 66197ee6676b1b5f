import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP, type LookupFunction } from 'node:net';
import { classifyAddress, describeRefusal } from './address-policy.js';
import { isHostAllowed } from './host-allow-list.js';
import { OutboundRequestError } from './outbound-error.js';

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Resolves a host name to every address it has; node's dns.lookup unless a test injects another. */
export type HostLookup = (hostname: string) => Promise<readonly { address: string; family: number }[]>;

export const systemLookup: HostLookup = (hostname) => dnsLookup(hostname, { all: true });

function familyOf(address: string): 4 | 6 | undefined {
  const family = isIP(address);
  return family === 4 || family === 6 ? family : undefined;
}

/**
 * The addresses a request to `url` may connect to: all of the host's addresses, each of them public,
 * unless the operator allowed the host by name. One refused address refuses the host, because which
 * address a connection picks is not ours to choose.
 */
export async function resolveTarget(
  url: URL,
  allowedHosts: readonly string[] | undefined,
  lookup: HostLookup,
): Promise<ResolvedAddress[]> {
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const literal = familyOf(hostname);
  let found: readonly { address: string }[];
  if (literal) found = [{ address: hostname }];
  else {
    try {
      found = await lookup(hostname);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
      throw new OutboundRequestError('host_not_found', `Could not resolve ${url.host} (${code})`, url.host);
    }
    if (found.length === 0) {
      throw new OutboundRequestError('host_not_found', `${url.host} has no addresses`, url.host);
    }
  }
  const allowed = isHostAllowed(hostname, allowedHosts);
  return found.map(({ address }) => {
    const verdict = classifyAddress(address);
    const family = familyOf(address);
    // An allowed host may resolve anywhere, but still only to real addresses.
    if (verdict.kind === 'refused' && !(allowed && family)) {
      const what = literal ? `${url.host} is` : `${url.host} resolves to ${address},`;
      throw new OutboundRequestError(
        'address_refused',
        `Refused to connect: ${what} ${describeRefusal(verdict.reason)}`,
        url.host,
      );
    }
    return { address, family: family === 6 ? 6 : 4 };
  });
}

/**
 * A lookup for the connection that answers with the addresses already checked, so the host cannot be
 * re-resolved (DNS rebinding) between the check and the connect. TLS and the Host header still use the
 * host name.
 */
export function pinnedLookup(addresses: readonly ResolvedAddress[]): LookupFunction {
  return (_hostname, options, callback) => {
    const [first] = addresses;
    if (options.all)
      callback(
        null,
        addresses.map((a) => ({ ...a })),
      );
    else if (first) callback(null, first.address, first.family);
    else callback(Object.assign(new Error('no checked address'), { code: 'ENOTFOUND' }), '', 4);
  };
}
