import type { IncomingMessage } from "node:http";
import { goTrimSpace } from "./text";

/**
 * Go `net.IP` semantics for the audit `sourceIPs` field, as apimachinery's `SourceIPs` computes it
 * with `netutils.ParseIPSloppy` (k8s.io/utils/net, a copy of Go 1.16's `net.ParseIP`: IPv4 parts
 * with leading zeros are read as decimal). An address is kept as 16 bytes so that IPv4 and
 * IPv4-mapped IPv6 compare equal, as `net.IP.Equal` does.
 */

const BIG = 0xffffff;

function parseIPv4Into(s: string, out: Uint8Array, at: number): boolean {
  let i = 0;
  for (let part = 0; part < 4; part++) {
    if (i >= s.length) return false;
    if (part > 0) {
      if (s.charCodeAt(i) !== 46 /* . */) return false;
      i++;
    }
    let n = 0;
    const start = i;
    while (i < s.length) {
      const c = s.charCodeAt(i);
      if (c < 48 || c > 57) break;
      n = n * 10 + (c - 48);
      if (n >= BIG) return false;
      i++;
    }
    if (i === start || n > 0xff) return false;
    out[at + part] = n;
  }
  return i === s.length;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

function parseIPv6(input: string): Uint8Array | null {
  const ip = new Uint8Array(16);
  let s = input;
  let ellipsis = -1;
  if (s.length >= 2 && s[0] === ":" && s[1] === ":") {
    ellipsis = 0;
    s = s.slice(2);
    if (s.length === 0) return ip;
  }
  let i = 0;
  while (i < 16) {
    let n = 0;
    let c = 0;
    while (c < s.length) {
      const h = hexValue(s.charCodeAt(c));
      if (h < 0) break;
      n = n * 16 + h;
      if (n >= BIG) return null;
      c++;
    }
    if (c === 0 || n > 0xffff) return null;
    if (c < s.length && s[c] === ".") {
      // An embedded IPv4 address ends the address.
      if (ellipsis < 0 && i !== 12) return null;
      if (i + 4 > 16) return null;
      if (!parseIPv4Into(s, ip, i)) return null;
      s = "";
      i += 4;
      break;
    }
    ip[i] = n >> 8;
    ip[i + 1] = n & 0xff;
    i += 2;
    s = s.slice(c);
    if (s.length === 0) break;
    if (s[0] !== ":" || s.length === 1) return null;
    s = s.slice(1);
    if (s[0] === ":") {
      if (ellipsis >= 0) return null;
      ellipsis = i;
      s = s.slice(1);
      if (s.length === 0) break;
    }
  }
  if (s.length !== 0) return null;
  if (i < 16) {
    if (ellipsis < 0) return null;
    const n = 16 - i;
    for (let j = i - 1; j >= ellipsis; j--) ip[j + n] = ip[j] as number;
    for (let j = ellipsis + n - 1; j >= ellipsis; j--) ip[j] = 0;
  } else if (ellipsis >= 0) {
    // The "::" must stand for at least one zero group.
    return null;
  }
  return ip;
}

/**
 * Parses an IP address the way `netutils.ParseIPSloppy` does; returns its 16-byte form, or
 * `null` when it is not an IP address.
 */
export function parseIP(s: string): Uint8Array | null {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      const ip = new Uint8Array(16);
      ip[10] = 0xff;
      ip[11] = 0xff;
      return parseIPv4Into(s, ip, 12) ? ip : null;
    }
    if (c === 58) return parseIPv6(s);
  }
  return null;
}

function isV4(ip: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (ip[i] !== 0) return false;
  return ip[10] === 0xff && ip[11] === 0xff;
}

/**
 * Renders a parsed address as Go's `net.IP.String()`: a dotted quad for IPv4 and IPv4-mapped
 * IPv6, otherwise RFC 5952 (lower-case hex, the first longest run of two or more zero groups
 * compressed to `::`).
 */
export function formatIP(ip: Uint8Array): string {
  if (isV4(ip)) return `${ip[12]}.${ip[13]}.${ip[14]}.${ip[15]}`;
  let e0 = -1;
  let e1 = -1;
  for (let i = 0; i < 16; i += 2) {
    let j = i;
    while (j < 16 && ip[j] === 0 && ip[j + 1] === 0) j += 2;
    if (j > i && j - i > e1 - e0) {
      e0 = i;
      e1 = j;
      i = j;
    }
  }
  if (e1 - e0 <= 2) {
    e0 = -1;
    e1 = -1;
  }
  let out = "";
  for (let i = 0; i < 16; i += 2) {
    if (i === e0) {
      out += "::";
      i = e1;
      if (i >= 16) break;
    } else if (i > 0) {
      out += ":";
    }
    out += (((ip[i] as number) << 8) | (ip[i + 1] as number)).toString(16);
  }
  return out;
}

function equalIP(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < 16; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The first value of a request header, as Go's `Header.Get` returns it (Node joins repeats). */
export function firstHeader(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  if (v === undefined) return undefined;
  if (typeof v !== "string") return v[0];
  // headersDistinct keeps repeated headers apart (absent on HTTP/2 compat requests).
  if (v.includes(",") && req.headersDistinct) return req.headersDistinct[name]?.[0];
  return v;
}

/** Every value of a request header, repeated headers kept apart. */
export function allHeaderValues(req: IncomingMessage, name: string): string[] | undefined {
  if (req.headersDistinct) return req.headersDistinct[name];
  const v = req.headers[name];
  return v === undefined ? undefined : typeof v === "string" ? [v] : v;
}

/**
 * apimachinery `SourceIPs` over the raw inputs: every valid entry of the `X-Forwarded-For` value
 * (split on `,`, trimmed), then `X-Real-Ip` (untrimmed) unless already in the list, then the peer
 * address unless it equals the last entry. Returns the canonical strings; `[]` when none is valid.
 */
export function computeSourceIPs(
  forwardedFor: string | undefined,
  realIP: string | undefined,
  remoteAddress: string | undefined,
): string[] {
  const ips: Uint8Array[] = [];
  if (forwardedFor) {
    for (const part of forwardedFor.split(",")) {
      // Go trims Unicode spaces of the UTF-8 reading (U+0085, U+00A0 as two bytes each), not
      // the latin1 characters JS's trim() would see.
      const ip = parseIP(goTrimSpace(part));
      if (ip) ips.push(ip);
    }
  }
  if (realIP) {
    const ip = parseIP(realIP);
    if (ip && !ips.some((x) => equalIP(x, ip))) ips.push(ip);
  }
  if (remoteAddress) {
    const ip = parseIP(splitHostPort(remoteAddress) ?? remoteAddress) ?? parseIP(remoteAddress);
    const last = ips[ips.length - 1];
    if (ip && (last === undefined || !equalIP(ip, last))) ips.push(ip);
  }
  return ips.map(formatIP);
}

/** The host of `host:port` or `[host]:port` (Go `net.SplitHostPort`), or undefined. */
function splitHostPort(addr: string): string | undefined {
  if (addr.startsWith("[")) {
    const end = addr.indexOf("]");
    if (end < 0 || addr[end + 1] !== ":") return undefined;
    return addr.slice(1, end);
  }
  const colon = addr.lastIndexOf(":");
  if (colon < 0 || addr.indexOf(":") !== colon) return undefined;
  return addr.slice(0, colon);
}

const PEER = Symbol("kaudit.peer-ip");

/** `sourceIPs` of a node:http request (the socket address is a bare IP in Node). */
export function sourceIPs(req: IncomingMessage): string[] {
  const xff = req.headers["x-forwarded-for"];
  const xri = req.headers["x-real-ip"];
  if (xff === undefined && xri === undefined) {
    const socket = req.socket as (typeof req.socket & { [PEER]?: string | null }) | undefined;
    if (!socket) return [];
    // The peer of a keep-alive connection does not change: canonicalise it once per socket.
    let peer = socket[PEER];
    if (peer === undefined) {
      const remote = socket.remoteAddress;
      const ip = remote === undefined ? null : parseIP(remote);
      peer = ip ? formatIP(ip) : null;
      socket[PEER] = peer;
    }
    return peer === null ? [] : [peer];
  }
  return computeSourceIPs(
    xff === undefined ? undefined : firstHeader(req, "x-forwarded-for"),
    xri === undefined ? undefined : firstHeader(req, "x-real-ip"),
    req.socket?.remoteAddress,
  );
}
