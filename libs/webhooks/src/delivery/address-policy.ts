import { lookup as dnsLookup, LookupAddress, LookupAllOptions } from 'node:dns';
import { BlockList, isIP, isIPv4 } from 'node:net';

/** What a webhook URL may point at (WEBHOOK_ALLOW_HTTP, WEBHOOK_ALLOW_PRIVATE_NETWORKS). */
export interface UrlPolicy {
  allowHttp: boolean;
  allowPrivateNetworks: boolean;
}

export const MAX_WEBHOOK_URL_LENGTH = 2048;

/**
 * Addresses that are not on the public internet (IANA special-purpose registries, RFC 6890 and
 * its updates): this network, private (RFC 1918, RFC 4193), shared (RFC 6598), loopback,
 * link-local, documentation, benchmarking, multicast and reserved ranges. A webhook must not
 * reach the operator's own network through them (SSRF).
 */
const NON_PUBLIC = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  NON_PUBLIC.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001::', 32],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
] as const) {
  NON_PUBLIC.addSubnet(network, prefix, 'ipv6');
}

/** The 16 bytes of an IPv6 address (with an optional dotted IPv4 tail), or undefined. */
function ipv6Bytes(address: string): number[] | undefined {
  if (isIP(address) !== 6) return undefined;
  let text = address.replace(/%.*$/, '');
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (tail) {
    const [a, b, c, d] = tail[1].split('.').map(Number);
    text = `${text.slice(0, -tail[1].length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, rest] = text.split('::');
  const groups = (part: string | undefined) => (part ? part.split(':') : []);
  const left = groups(head);
  const right = groups(rest);
  const all =
    rest === undefined
      ? left
      : [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
  return all.flatMap((group) => {
    const value = parseInt(group, 16);
    return [value >> 8, value & 0xff];
  });
}

/** The IPv4 address carried inside an IPv6 one (mapped, NAT64 64:ff9b::/96, 6to4 2002::/16). */
function embeddedIpv4(address: string): string | undefined {
  const bytes = ipv6Bytes(address);
  if (!bytes) return undefined;
  const zeros = (from: number, to: number) => bytes.slice(from, to).every((b) => b === 0);
  if (zeros(0, 10) && bytes[10] === 0xff && bytes[11] === 0xff) return bytes.slice(12).join('.');
  if (
    bytes[0] === 0x00 &&
    bytes[1] === 0x64 &&
    bytes[2] === 0xff &&
    bytes[3] === 0x9b &&
    zeros(4, 12)
  )
    return bytes.slice(12).join('.');
  if (bytes[0] === 0x20 && bytes[1] === 0x02) return bytes.slice(2, 6).join('.');
  return undefined;
}

/**
 * Whether `address` (an IPv4 or IPv6 literal) is a public unicast address a webhook may reach.
 * IPv6 addresses that carry an IPv4 address (mapped, NAT64, 6to4) are judged by that address.
 * Anything that is not an IP literal is not public.
 */
export function isPublicAddress(address: string): boolean {
  if (isIPv4(address)) return !NON_PUBLIC.check(address, 'ipv4');
  if (isIP(address) !== 6) return false;
  const inner = embeddedIpv4(address);
  if (inner !== undefined) return isPublicAddress(inner);
  return !NON_PUBLIC.check(address.replace(/%.*$/, ''), 'ipv6');
}

/**
 * The shape rules every webhook URL follows whatever the configuration: an absolute `http:` or
 * `https:` URL with a host, no user name or password, at most 2048 characters.
 *
 * @returns what is wrong, or undefined
 */
export function webhookUrlShapeProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return 'url must be a string';
  if (value.length > MAX_WEBHOOK_URL_LENGTH)
    return `url must be at most ${MAX_WEBHOOK_URL_LENGTH} characters`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'url must be an absolute http or https URL';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    return 'url must be an absolute http or https URL';
  if (!url.hostname) return 'url must name a host';
  if (url.username || url.password) return 'url must not contain credentials (user:password@)';
  return undefined;
}

/** The host of `url` as an IP literal or a name (IPv6 brackets removed). */
export function hostOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1');
}

export type ResolveAll = (hostname: string) => Promise<LookupAddress[]>;

/** Every address the system resolver (getaddrinfo, as connections use) gives for `hostname`. */
export const resolveAll: ResolveAll = (hostname) =>
  new Promise((resolve, reject) =>
    dnsLookup(hostname, { all: true } satisfies LookupAllOptions, (error, addresses) =>
      error ? reject(error) : resolve(addresses),
    ),
  );

/**
 * Checks a URL of good shape against the policy: `https:` unless http is allowed; unless private
 * networks are allowed, a host that is (or resolves only to) public addresses. A name that
 * resolves to several addresses must have all of them public (a connection may use any).
 *
 * @param timeoutMs how long name resolution may take
 * @returns what is wrong, or undefined
 */
export async function webhookUrlTargetProblem(
  url: URL,
  policy: UrlPolicy,
  { resolve = resolveAll, timeoutMs = 5000 }: { resolve?: ResolveAll; timeoutMs?: number } = {},
): Promise<string | undefined> {
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && policy.allowHttp))
    return 'url must use https';
  if (policy.allowPrivateNetworks) return undefined;
  const host = hostOf(url);
  if (isIP(host)) {
    return isPublicAddress(host)
      ? undefined
      : 'url must not point at a loopback, private, link-local or other non-public address';
  }
  let addresses: LookupAddress[];
  try {
    let timer: NodeJS.Timeout | undefined;
    addresses = await Promise.race([
      resolve(host),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
  } catch {
    return `url host ${host} could not be resolved`;
  }
  if (addresses.length === 0) return `url host ${host} could not be resolved`;
  return addresses.every((a) => isPublicAddress(a.address))
    ? undefined
    : `url host ${host} resolves to a loopback, private, link-local or other non-public address`;
}
