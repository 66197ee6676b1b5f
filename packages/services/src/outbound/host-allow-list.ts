function normalizeHost(host: string): string {
  return host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/\.$/, '');
}

/**
 * Whether the operator allowed requests to `hostname` whatever it resolves to. An entry matches the
 * host name exactly, or `*.example.com` matches any name under example.com (not example.com itself).
 * A bare `*` matches nothing: turning the address check off entirely is not an allow-list.
 */
export function isHostAllowed(hostname: string, allowedHosts: readonly string[] | undefined): boolean {
  if (!allowedHosts?.length) return false;
  const host = normalizeHost(hostname);
  return allowedHosts.some((entry) => {
    const wanted = normalizeHost(entry);
    if (!wanted.startsWith('*.')) return wanted !== '' && wanted === host;
    const suffix = wanted.slice(1);
    return suffix.length > 1 && host.endsWith(suffix) && host.length > suffix.length;
  });
}
