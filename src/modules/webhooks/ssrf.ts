// SSRF guard for webhook URLs. An address is refused when it is loopback, private, link-local,
// CGNAT, multicast, reserved, unspecified or an IPv4-mapped/compatible IPv6 form of anything (unless
// WEBHOOK_ALLOW_PRIVATE). Checked at registration, and again at each delivery on every address DNS
// returns: the connection is made to the address that was checked (DNS rebinding).
import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { BlockList, isIP } from "node:net";
import { config } from "../../platform/config.ts";
import { invalid } from "../../platform/errors.ts";

// Two lists: a BlockList checks IPv4 addresses against IPv6 rules too (as ::ffff:a.b.c.d), so the
// mapped-range rule would otherwise refuse every IPv4 address.
const blocked4 = new BlockList();
const blocked6 = new BlockList();
for (const [net, bits] of [
  ["0.0.0.0", 8], ["10.0.0.0", 8], ["100.64.0.0", 10], ["127.0.0.0", 8], ["169.254.0.0", 16], ["172.16.0.0", 12],
  ["192.0.0.0", 24], ["192.0.2.0", 24], ["192.168.0.0", 16], ["198.18.0.0", 15], ["198.51.100.0", 24],
  ["203.0.113.0", 24], ["224.0.0.0", 4], ["240.0.0.0", 4],
] as const) blocked4.addSubnet(net, bits, "ipv4");
for (const [net, bits] of [
  ["::", 96], // unspecified, loopback and the deprecated IPv4-compatible forms
  ["::ffff:0:0", 96], // IPv4-mapped: refused whatever it maps to (the brief's rule; no public use)
  ["64:ff9b::", 96], ["100::", 64], ["2001:db8::", 32], ["2002::", 16], ["fc00::", 7], ["fe80::", 10], ["fec0::", 10], ["ff00::", 8],
] as const) blocked6.addSubnet(net, bits, "ipv6");

/** True when a connection to this IP literal must be refused. Non-IPs are refused too. */
export function isForbiddenAddress(address: string): boolean {
  const a = address.replace(/^\[|\]$/g, "").split("%")[0];
  const v = isIP(a);
  if (v === 0) return true;
  return v === 4 ? blocked4.check(a, "ipv4") : blocked6.check(a, "ipv6");
}

export class RefusedAddress extends Error {
  readonly code = "ERR_WEBHOOK_REFUSED_ADDRESS";
  constructor() {
    super("the webhook host resolves to a private, loopback or link-local address");
  }
}

const allowPrivate = () => config.WEBHOOK_ALLOW_PRIVATE;

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * `lookup` for http(s).request: resolves, refuses the connection if any address is forbidden, and
 * hands Node exactly the addresses it checked (so a second resolution cannot swap them).
 */
export function guardedLookup(hostname: string, options: { all?: boolean; family?: number | string }, callback: LookupCallback): void {
  dnsLookup(hostname, { all: true, family: options.family === "IPv6" ? 6 : options.family === "IPv4" ? 4 : Number(options.family) || 0 }, (err, addrs) => {
    if (err) return callback(err, "");
    if (addrs.length === 0) return callback(Object.assign(new Error("no address"), { code: "ENOTFOUND" }), "");
    if (!allowPrivate() && addrs.some((a) => isForbiddenAddress(a.address))) return callback(new RefusedAddress(), "");
    if (options.all) callback(null, addrs);
    else callback(null, addrs[0].address, addrs[0].family);
  });
}

/** The host of a URL as Node connects to it: IPv6 literals without brackets. */
export const hostOf = (u: URL) => u.hostname.replace(/^\[|\]$/g, "");

/** Registration check: http(s), no credentials, and every resolved address allowed. 400 on `url`. */
export async function assertAllowedUrl(raw: string): Promise<void> {
  const fail = (message: string) => invalid(`The request body is invalid: url: ${message}`, [{ path: "url", message }]);
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw fail("Invalid URL");
  }
  if (u.protocol !== "https:" && u.protocol !== "http:") throw fail("Use an http or https URL");
  if (u.username || u.password) throw fail("Credentials in the URL are not allowed");
  if (allowPrivate()) return;
  const host = hostOf(u);
  if (isIP(host)) {
    if (isForbiddenAddress(host)) throw fail("The address is private, loopback or link-local");
    return;
  }
  const addrs = await new Promise<LookupAddress[]>((resolve) => dnsLookup(host, { all: true }, (err, a) => resolve(err ? [] : a)));
  if (addrs.length === 0) throw fail("The host name does not resolve");
  if (addrs.some((a) => isForbiddenAddress(a.address))) throw fail("The host resolves to a private, loopback or link-local address");
}
