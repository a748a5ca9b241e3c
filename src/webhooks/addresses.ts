import { lookup as dnsLookup, NOTFOUND, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { rejected } from '../../domain/errors';

/*
 * Which URLs a webhook may have, and which addresses a delivery may connect to. A webhook URL is chosen
 * by an organisation's admin and fetched by the server, so without care it is a way into the server's own
 * network (server-side request forgery): the cloud metadata service at 169.254.169.254, the database, an
 * admin port on localhost. Outside local development mode such addresses are refused, twice: when the URL
 * is configured (a literal address or a name such as "localhost"), and when a delivery connects (every
 * address the name resolves to then, so a name that later resolves elsewhere, DNS rebinding, is caught
 * where it matters). Redirects are never followed.
 */

export const WEBHOOK_URL_MAX = 2048;

/** Addresses no delivery may reach unless the operator allows private addresses. */
const BLOCKED = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata services
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) {
  BLOCKED.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b:1::', 48],
  ['100::', 64], // discard
  ['2001:db8::', 32], // documentation
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['ff00::', 8], // multicast
] as const) {
  BLOCKED.addSubnet(net, prefix, 'ipv6');
}

/** An IPv4 address carried inside an IPv6 one (::ffff:a.b.c.d, NAT64 64:ff9b::a.b.c.d), as IPv4. */
function embeddedIpv4(address: string): string | null {
  const lower = address.toLowerCase();
  const dotted = /^(?:::ffff:|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (dotted) return dotted[1] as string;
  const hex = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (!hex) return null;
  const high = parseInt(hex[1] as string, 16);
  const low = parseInt(hex[2] as string, 16);
  return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
}

/** True for an address in a private, loopback, link-local, reserved or multicast range. */
export function isPrivateAddress(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const family = isIP(bare);
  if (family === 4) return BLOCKED.check(bare, 'ipv4');
  if (family === 6) {
    const v4 = embeddedIpv4(bare);
    return v4 !== null ? BLOCKED.check(v4, 'ipv4') : BLOCKED.check(bare, 'ipv6');
  }
  return false;
}

/** Names that mean this machine or its local network whatever DNS says. */
const LOCAL_NAMES = /^(localhost|localhost\.localdomain|ip6-localhost|ip6-loopback)$|\.(localhost|local|internal|home\.arpa)$/i;

/**
 * The URL an admin gave, checked: http or https, no credentials in it, no fragment, at most
 * WEBHOOK_URL_MAX characters, and (unless private addresses are allowed) not a private address or a
 * local name. Refused with WEBHOOK_URL_INVALID or WEBHOOK_URL_PRIVATE.
 */
export function checkWebhookUrl(raw: string, allowPrivateAddresses: boolean): URL {
  const text = raw.trim();
  if (text.length === 0 || text.length > WEBHOOK_URL_MAX) {
    throw rejected('WEBHOOK_URL_INVALID', `A webhook URL is an http or https URL of at most ${WEBHOOK_URL_MAX} characters.`);
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw rejected('WEBHOOK_URL_INVALID', 'The webhook URL does not parse; give an absolute http or https URL, e.g. https://hooks.slack.com/services/...');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw rejected('WEBHOOK_URL_INVALID', `A webhook URL must use http or https, not ${url.protocol.replace(/:$/, '')}.`);
  }
  if (url.username !== '' || url.password !== '') {
    throw rejected('WEBHOOK_URL_INVALID', 'A webhook URL must not carry a user name or password; a SIGNED_JSON webhook proves itself with its signature instead.');
  }
  if (url.hash !== '') throw rejected('WEBHOOK_URL_INVALID', 'A webhook URL has no #fragment: nothing after # would reach the receiver.');
  if (!allowPrivateAddresses) {
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (isPrivateAddress(host) || LOCAL_NAMES.test(host) || (isIP(host) === 0 && !host.includes('.'))) {
      throw rejected(
        'WEBHOOK_URL_PRIVATE',
        `${url.hostname} is a private, loopback or local address, which webhooks may not reach on this server; give a public URL ` +
          '(the operator can allow private addresses with OKR_WEBHOOK_ALLOW_PRIVATE=true).',
      );
    }
  }
  return url;
}

/** A delivery refused because the name resolved to an address it may not reach. */
export class BlockedAddressError extends Error {
  constructor(readonly address: string) {
    super(`address ${address} is private, loopback or reserved; webhooks may not reach it`);
    this.name = 'BlockedAddressError';
  }
}

/**
 * A `lookup` for node's http(s) requests that refuses (unless private addresses are allowed) any name
 * resolving to a blocked address: checked at connection time, on the addresses actually connected to.
 */
export function guardedLookup(allowPrivateAddresses: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) {
        (callback as (e: NodeJS.ErrnoException | null, a: LookupAddress[]) => void)(error, []);
        return;
      }
      const blocked = allowPrivateAddresses ? undefined : addresses.find((a) => isPrivateAddress(a.address));
      if (blocked !== undefined) {
        (callback as (e: NodeJS.ErrnoException | null, a: LookupAddress[]) => void)(new BlockedAddressError(blocked.address), []);
        return;
      }
      if (options.all) {
        (callback as (e: NodeJS.ErrnoException | null, a: LookupAddress[]) => void)(null, addresses);
      } else {
        const first = addresses[0];
        if (first === undefined) (callback as (e: NodeJS.ErrnoException | null, a: string, f: number) => void)(Object.assign(new Error(`no address for ${hostname}`), { code: NOTFOUND }), '', 0);
        else (callback as (e: NodeJS.ErrnoException | null, a: string, f: number) => void)(null, first.address, first.family);
      }
    });
  };
}

/**
 * A shortened form of a webhook URL to show back: scheme, host and port, then the last four characters.
 * The path of a Slack webhook URL is its secret, so the whole URL is never answered again.
 */
export function urlHint(url: string): string {
  try {
    const parsed = new URL(url);
    const rest = url.slice(parsed.origin.length);
    if (rest === '' || rest === '/') return parsed.origin;
    return `${parsed.origin}/…${rest.length > 8 ? rest.slice(-4) : ''}`;
  } catch {
    return '…';
  }
}
