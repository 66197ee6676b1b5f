import { hasPrefix, parseIPv4, parseIPv6 } from './ip-address.js';

/** Why an address may not be the target of a request to a customer-supplied URL. */
export type AddressRefusalReason =
  | 'loopback'
  | 'private'
  | 'link_local'
  | 'cloud_metadata'
  | 'carrier_grade_nat'
  | 'unspecified'
  | 'multicast'
  | 'broadcast'
  | 'reserved'
  | 'documentation'
  | 'not_an_ip_address';

export type AddressClass = { kind: 'public' } | { kind: 'refused'; reason: AddressRefusalReason };

const REASON_TEXT: Record<AddressRefusalReason, string> = {
  loopback: 'a loopback address',
  private: 'a private network address',
  link_local: 'a link-local address',
  cloud_metadata: 'a cloud metadata service address',
  carrier_grade_nat: 'a carrier-grade NAT (shared) address',
  unspecified: 'the unspecified address',
  multicast: 'a multicast address',
  broadcast: 'the broadcast address',
  reserved: 'a reserved address',
  documentation: 'a documentation-only address',
  not_an_ip_address: 'not an IP address',
};

/** "a loopback address", for error messages. */
export function describeRefusal(reason: AddressRefusalReason): string {
  return REASON_TEXT[reason];
}

type Rule = { prefix: Uint8Array; bits: number; reason: AddressRefusalReason };

function rule(cidr: string, reason: AddressRefusalReason): Rule {
  const [address = '', bits = ''] = cidr.split('/');
  const prefix = parseIPv4(address) ?? parseIPv6(address);
  if (!prefix) throw new Error(`Bad CIDR in the address policy: ${cidr}`);
  return { prefix, bits: Number(bits), reason };
}

// First match wins, so single addresses come before the ranges that contain them.
const IPV4_RULES: readonly Rule[] = [
  rule('255.255.255.255/32', 'broadcast'),
  rule('169.254.169.254/32', 'cloud_metadata'), // AWS, GCP, Azure, Oracle, DigitalOcean...
  rule('169.254.170.2/32', 'cloud_metadata'), // AWS ECS task credentials
  rule('100.100.100.200/32', 'cloud_metadata'), // Alibaba Cloud
  rule('0.0.0.0/32', 'unspecified'),
  rule('0.0.0.0/8', 'reserved'),
  rule('10.0.0.0/8', 'private'),
  rule('100.64.0.0/10', 'carrier_grade_nat'),
  rule('127.0.0.0/8', 'loopback'),
  rule('169.254.0.0/16', 'link_local'),
  rule('172.16.0.0/12', 'private'),
  rule('192.0.0.0/24', 'reserved'),
  rule('192.0.2.0/24', 'documentation'),
  rule('192.88.99.0/24', 'reserved'),
  rule('192.168.0.0/16', 'private'),
  rule('198.18.0.0/15', 'reserved'),
  rule('198.51.100.0/24', 'documentation'),
  rule('203.0.113.0/24', 'documentation'),
  rule('224.0.0.0/4', 'multicast'),
  rule('240.0.0.0/4', 'reserved'),
];

const IPV6_RULES: readonly Rule[] = [
  rule('::/128', 'unspecified'),
  rule('::1/128', 'loopback'),
  rule('fd00:ec2::254/128', 'cloud_metadata'), // AWS over IPv6
  rule('fc00::/7', 'private'),
  rule('fe80::/10', 'link_local'),
  rule('fec0::/10', 'private'), // deprecated site-local
  rule('ff00::/8', 'multicast'),
  rule('2001:db8::/32', 'documentation'),
  rule('3fff::/20', 'documentation'),
  rule('2001::/23', 'reserved'), // Teredo, benchmarking, ORCHID: tunnels and test ranges
];

// Addresses that carry an IPv4 address inside: the packet ends up at that IPv4 address, so it decides.
const EMBEDDED_IPV4: readonly { prefix: Uint8Array; bits: number; offset: number }[] = [
  { ...rule('::ffff:0:0/96', 'reserved'), offset: 12 }, // IPv4-mapped
  { ...rule('64:ff9b::/96', 'reserved'), offset: 12 }, // NAT64
  { ...rule('2002::/16', 'reserved'), offset: 2 }, // 6to4
];

const GLOBAL_UNICAST_V6 = rule('2000::/3', 'reserved');

function match(bytes: Uint8Array, rules: readonly Rule[]): AddressClass | undefined {
  const hit = rules.find((r) => hasPrefix(bytes, r.prefix, r.bits));
  return hit && { kind: 'refused', reason: hit.reason };
}

function classifyIPv4(bytes: Uint8Array): AddressClass {
  return match(bytes, IPV4_RULES) ?? { kind: 'public' };
}

function classifyIPv6(bytes: Uint8Array): AddressClass {
  const embedding = EMBEDDED_IPV4.find((e) => hasPrefix(bytes, e.prefix, e.bits));
  if (embedding) return classifyIPv4(bytes.subarray(embedding.offset, embedding.offset + 4));
  const refused = match(bytes, IPV6_RULES);
  if (refused) return refused;
  // Everything outside global unicast is special-purpose (IPv4-compatible, discard-only, local NAT64...).
  if (!hasPrefix(bytes, GLOBAL_UNICAST_V6.prefix, GLOBAL_UNICAST_V6.bits)) {
    return { kind: 'refused', reason: 'reserved' };
  }
  return { kind: 'public' };
}

/**
 * Whether a request to a customer-supplied URL may connect to `address` (an IPv4 or IPv6 literal, as
 * dns.lookup returns it): only publicly routable unicast addresses may be reached.
 */
export function classifyAddress(address: string): AddressClass {
  const v4 = parseIPv4(address);
  if (v4) return classifyIPv4(v4);
  const v6 = parseIPv6(address);
  if (v6) return classifyIPv6(v6);
  return { kind: 'refused', reason: 'not_an_ip_address' };
}
