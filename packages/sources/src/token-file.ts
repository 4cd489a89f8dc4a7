import { readFileSync } from "node:fs";
import { SourceReadError } from "./errors";

/** Who a static token authenticates as. */
export interface TokenUser {
  name: string;
  uid: string;
  groups: string[];
}

/** One CSV record as Go's encoding/csv reads it (RFC 4180 quotes, leading spaces trimmed). */
function csvRecord(line: string, where: string, source: string): string[] {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    while (line[i] === " " || line[i] === "\t") i++;
    let field = "";
    if (line[i] === '"') {
      i++;
      for (;;) {
        if (i >= line.length)
          throw new SourceReadError(
            "option",
            source,
            `${where}: extraneous or missing " in quoted-field`,
          );
        if (line[i] === '"') {
          if (line[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += line[i++];
      }
      if (i < line.length && line[i] !== ",")
        throw new SourceReadError(
          "option",
          source,
          `${where}:${i + 1}: extraneous or missing " in quoted-field`,
        );
    } else {
      const end = line.indexOf(",", i);
      field = line.slice(i, end === -1 ? line.length : end);
      i = end === -1 ? line.length : end;
    }
    out.push(field);
    if (i >= line.length) return out;
    i++; // the comma
  }
}

/**
 * Parses kube-apiserver's static token file (`--token-auth-file`, k8s.io/apiserver
 * `pkg/authentication/token/tokenfile`): CSV records `token,user,uid[,"group1,group2"]`.
 * Blank lines are skipped; a record with fewer than 3 columns is an error naming its line.
 */
export function parseTokenFile(text: string, source = "token file"): Map<string, TokenUser> {
  const tokens = new Map<string, TokenUser>();
  const lines = text.split(/\r?\n/);
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!;
    if (line.trim() === "") continue;
    const where = `${source}:${n + 1}`;
    const rec = csvRecord(line, where, source);
    if (rec.length < 3) {
      throw new SourceReadError(
        "option",
        source,
        `${where}: token file must have at least 3 columns (token, user name, user uid), found ${rec.length}`,
      );
    }
    const token = rec[0]!;
    // kube warns and skips an empty token rather than failing start-up
    if (token === "") continue;
    const groups = rec.length >= 4 && rec[3] !== "" ? rec[3]!.split(",") : [];
    tokens.set(token, { name: rec[1]!, uid: rec[2]!, groups });
  }
  return tokens;
}

/** Reads and parses a static token file. */
export function loadTokenFile(path: string): Map<string, TokenUser> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new SourceReadError("open", path, `reading token file: ${(e as Error).message}`, {
      cause: e,
    });
  }
  return parseTokenFile(text, path);
}
