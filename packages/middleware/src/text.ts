/**
 * Byte-level string helpers. Node decodes HTTP header values and the request target as latin1
 * (one char per byte), while Go keeps raw bytes; these helpers turn such strings back into what
 * Go would have produced.
 */

/**
 * Decodes UTF-8 the way Go's encoding/json renders a byte string: valid sequences become their
 * characters, and every byte of an invalid or truncated sequence becomes an unpaired surrogate
 * (U+DC80 + the byte's low 7 bits, Python's "surrogateescape"). A JS string cannot hold the raw
 * byte; an unpaired surrogate is its own kind of invalid, and `encodeEvent` writes each one as
 * `\ufffd` — exactly the escape Go's encoder writes for each invalid byte (a valid U+FFFD the
 * client sent stays a raw U+FFFD, as in Go). Readers of the line see U+FFFD either way.
 */
export function decodeUtf8GoStyle(bytes: Uint8Array): string {
  let out = "";
  let i = 0;
  while (i < bytes.length) {
    const r = decodeRune(bytes, i);
    if (r.size === 0) {
      out += String.fromCharCode(0xdc00 | (bytes[i] as number));
      i++;
    } else {
      out += String.fromCodePoint(r.rune);
      i += r.size;
    }
  }
  return out;
}

/** One rune at `i`, or size 0 when the bytes there are not valid UTF-8 (Go utf8.DecodeRune). */
function decodeRune(b: Uint8Array, i: number): { rune: number; size: number } {
  const c0 = b[i] as number;
  if (c0 < 0x80) return { rune: c0, size: 1 };
  const cont = (k: number, lo = 0x80, hi = 0xbf): number => {
    const c = b[i + k];
    return c !== undefined && c >= lo && c <= hi ? c & 0x3f : -1;
  };
  if (c0 >= 0xc2 && c0 <= 0xdf) {
    const c1 = cont(1);
    return c1 < 0 ? { rune: 0, size: 0 } : { rune: ((c0 & 0x1f) << 6) | c1, size: 2 };
  }
  if (c0 >= 0xe0 && c0 <= 0xef) {
    const c1 = cont(1, c0 === 0xe0 ? 0xa0 : 0x80, c0 === 0xed ? 0x9f : 0xbf);
    const c2 = cont(2);
    if (c1 < 0 || c2 < 0) return { rune: 0, size: 0 };
    return { rune: ((c0 & 0x0f) << 12) | (c1 << 6) | c2, size: 3 };
  }
  if (c0 >= 0xf0 && c0 <= 0xf4) {
    const c1 = cont(1, c0 === 0xf0 ? 0x90 : 0x80, c0 === 0xf4 ? 0x8f : 0xbf);
    const c2 = cont(2);
    const c3 = cont(3);
    if (c1 < 0 || c2 < 0 || c3 < 0) return { rune: 0, size: 0 };
    return { rune: ((c0 & 0x07) << 18) | (c1 << 12) | (c2 << 6) | c3, size: 4 };
  }
  return { rune: 0, size: 0 };
}

const NON_ASCII = /[^\x00-\x7f]/;

/**
 * A latin1 string (one char per byte, as Node hands over header values) → the string Go holds for
 * those bytes, as its JSON encoder writes it (see {@link decodeUtf8GoStyle}).
 */
export function bytesStringToUtf8(s: string): string {
  if (!NON_ASCII.test(s) || BEYOND_LATIN1.test(s)) return s; // ASCII, or not bytes at all
  return decodeUtf8GoStyle(Buffer.from(s, "latin1"));
}

const BEYOND_LATIN1 = /[^\x00-\xff]/;

/**
 * Go's `url.PathUnescape` of a byte string, read as Go's JSON encoder writes the result; undefined
 * when an escape is malformed (the caller keeps the text as sent, as kube's unescapeExtraKey does).
 */
export function pathUnescape(s: string): string | undefined {
  if (!s.includes("%")) return bytesStringToUtf8(s);
  const bytes = Buffer.from(s, "latin1");
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i] as number;
    if (c !== 0x25) {
      out.push(c);
      continue;
    }
    const hex = s.slice(i + 1, i + 3);
    if (!/^[0-9a-fA-F]{2}$/.test(hex)) return undefined;
    out.push(Number.parseInt(hex, 16));
    i += 2;
  }
  return decodeUtf8GoStyle(Uint8Array.from(out));
}

/** Go's `unicode.IsSpace` runes at either end of a string, as `strings.TrimSpace` removes them. */
const GO_SPACE =
  /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g;

/** Go's `strings.TrimSpace` of a byte string given as latin1 (its UTF-8 reading, trimmed). */
export function goTrimSpace(s: string): string {
  return bytesStringToUtf8(s).replace(GO_SPACE, "");
}

const USER_AGENT_LIMIT = 1024;

/**
 * The `userAgent` field: the header (raw bytes as latin1) truncated at 1024 **bytes** with
 * `...TRUNCATED` appended, as `LogRequestMetadata` does; a cut UTF-8 sequence becomes U+FFFD.
 */
export function auditUserAgent(raw: string): string {
  // Clients send the same agent request after request: the last one's answer is kept.
  if (raw === lastAgent) return lastAgentText;
  const text =
    raw.length > USER_AGENT_LIMIT
      ? `${bytesStringToUtf8(raw.slice(0, USER_AGENT_LIMIT))}...TRUNCATED`
      : bytesStringToUtf8(raw);
  lastAgent = raw;
  lastAgentText = text;
  return text;
}
let lastAgent = "";
let lastAgentText = "";

/** Go's `strconv.Quote` of a byte string given as latin1 (as `%#v` prints it). */
export function goQuote(s: string): string {
  const bytes = Buffer.from(s, "latin1");
  let out = '"';
  let i = 0;
  while (i < bytes.length) {
    const c = bytes[i] as number;
    if (c < 0x80) {
      i++;
      switch (c) {
        case 0x07:
          out += "\\a";
          break;
        case 0x08:
          out += "\\b";
          break;
        case 0x0c:
          out += "\\f";
          break;
        case 0x0a:
          out += "\\n";
          break;
        case 0x0d:
          out += "\\r";
          break;
        case 0x09:
          out += "\\t";
          break;
        case 0x0b:
          out += "\\v";
          break;
        case 0x22:
          out += '\\"';
          break;
        case 0x5c:
          out += "\\\\";
          break;
        default:
          out +=
            c < 0x20 || c === 0x7f
              ? `\\x${c.toString(16).padStart(2, "0")}`
              : String.fromCharCode(c);
      }
      continue;
    }
    const r = decodeRune(bytes, i);
    if (r.size === 0) {
      out += `\\x${c.toString(16).padStart(2, "0")}`;
      i++;
      continue;
    }
    i += r.size;
    // C1 controls and a few format characters are not printable for Go.
    if (
      r.rune < 0xa0 ||
      r.rune === 0xad ||
      r.rune === 0xfeff ||
      r.rune === 0x2028 ||
      r.rune === 0x2029
    ) {
      out +=
        r.rune > 0xffff
          ? `\\U${r.rune.toString(16).padStart(8, "0")}`
          : `\\u${r.rune.toString(16).padStart(4, "0")}`;
    } else {
      out += String.fromCodePoint(r.rune);
    }
  }
  return `${out}"`;
}

/** Go's `responsewriters` sanitizer: `&`, `<`, `>` as HTML entities. */
export function htmlEscape(s: string): string {
  return s.replace(/[&<>]/g, (c) => (c === "&" ? "&amp;" : c === "<" ? "&lt;" : "&gt;"));
}

/**
 * Go's `URL.RequestURI()` for a request target as Node gives it: origin-form kept, absolute-form
 * reduced to path and query, raw non-ASCII bytes percent-encoded (Go escapes them), empty → `/`.
 */
export function requestURIOf(url: string | undefined): string {
  if (!url) return "/";
  let u = url;
  if (u.charCodeAt(0) !== 47 /* / */ && /^[a-z][a-z0-9+.-]*:\/\//i.test(u)) {
    const rest = u.slice(u.indexOf("//") + 2);
    const slash = rest.search(/[/?]/);
    u = slash < 0 ? "/" : rest.slice(slash);
    if (u.startsWith("?")) u = `/${u}`;
  }
  if (NON_ASCII.test(u)) {
    u = u.replace(
      /[^\x00-\x7f]/g,
      (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}`,
    );
  }
  return u;
}
