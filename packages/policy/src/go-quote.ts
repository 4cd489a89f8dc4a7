/**
 * Go's strconv.Quote (the `%q` verb): double quotes, `\a\b\f\n\r\t\v`, `\\`, `\"`, other control
 * characters and non-printable runes as `\x..`/`\u....`, printable Unicode kept as is.
 */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    switch (ch) {
      case '"':
        out += '\\"';
        continue;
      case "\\":
        out += "\\\\";
        continue;
      case "\x07":
        out += "\\a";
        continue;
      case "\b":
        out += "\\b";
        continue;
      case "\f":
        out += "\\f";
        continue;
      case "\n":
        out += "\\n";
        continue;
      case "\r":
        out += "\\r";
        continue;
      case "\t":
        out += "\\t";
        continue;
      case "\v":
        out += "\\v";
        continue;
    }
    if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, "0")}`;
    else if (cp >= 0xd800 && cp <= 0xdfff) out += "\\ufffd";
    else if (
      (cp >= 0x80 && cp < 0xa0) ||
      cp === 0xad ||
      cp === 0x2028 ||
      cp === 0x2029 ||
      cp === 0xfeff
    )
      out +=
        cp > 0xffff
          ? `\\U${cp.toString(16).padStart(8, "0")}`
          : `\\u${cp.toString(16).padStart(4, "0")}`;
    else out += ch;
  }
  return `${out}"`;
}

/** Go's encoding/json rendering of a string slice, as field.Error prints slice values. */
export function goJSONStrings(values: readonly string[]): string {
  return `[${values.map(goJSONString).join(",")}]`;
}

function goJSONString(s: string): string {
  // Go's encoder escapes <, >, & and U+2028/2029 on top of JSON's own escapes.
  return JSON.stringify(s)
    .replace(/</g, "\\u003c")
    .replace(/>/g, "\\u003e")
    .replace(/&/g, "\\u0026")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}
