import { readFileSync } from "node:fs";
import { SourceReadError } from "./errors";

/** Who a static token authenticates as. */
export interface TokenUser {
  name: string;
  uid: string;
  /** The fourth column split at commas; empty when the record has three columns. */
  groups: string[];
}

/** What {@link parseTokenFile} reports besides the tokens: kube logs these and starts anyway. */
export interface TokenFileOptions {
  /** Called for each record kube warns about (an empty token, a token given again). */
  onWarning?: (message: string) => void;
}

/** One record and the line it started on. */
interface CsvRecord {
  line: number;
  fields: string[];
}

/**
 * The records of `text` as Go's `encoding/csv` reader reads them with kube's settings
 * (`FieldsPerRecord = -1`, no comment character, no trimming, strict quotes): empty lines are
 * skipped, `\r\n` ends a line like `\n`, a quoted field may span lines and doubles its quotes.
 */
function csvRecords(text: string, source: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  const fail = (line: number, col: number, what: string): never => {
    throw new SourceReadError("option", source, `${source}:${line}:${col}: parse error: ${what}`);
  };
  let i = 0;
  let line = 1;
  const n = text.length;
  while (i < n) {
    // an empty line is no record
    if (text[i] === "\n") {
      i++;
      line++;
      continue;
    }
    if (text[i] === "\r" && text[i + 1] === "\n") {
      i += 2;
      line++;
      continue;
    }
    const start = line;
    let lineStart = i;
    const fields: string[] = [];
    for (;;) {
      let field = "";
      if (text[i] === '"') {
        i++;
        // where the field's text last ended a line, for an error at the end of the text (Go's
        // position: the line the field's last text was on, just past its end)
        let endLine = line;
        let endCol = i - lineStart + 1;
        for (;;) {
          if (i >= n) {
            if (i > lineStart)
              fail(line, i - lineStart + 1, 'extraneous or missing " in quoted-field');
            fail(endLine, endCol, 'extraneous or missing " in quoted-field');
          }
          const ch = text[i]!;
          if (ch === '"') {
            if (text[i + 1] === '"') {
              field += '"';
              i += 2;
              continue;
            }
            i++;
            const next = text[i];
            if (next !== undefined && next !== "," && next !== "\n" && !atCrlf(text, i))
              fail(line, i - lineStart, 'extraneous or missing " in quoted-field');
            break;
          }
          if (ch === "\n" || atCrlf(text, i)) {
            // a quoted field goes on to the next line, its line end read as "\n"
            endLine = line;
            endCol = i - lineStart + 2;
            i += ch === "\n" ? 1 : 2;
            field += "\n";
            line++;
            lineStart = i;
            continue;
          }
          field += ch;
          i++;
        }
      } else {
        let end = i;
        while (end < n && text[end] !== "," && text[end] !== "\n" && !atCrlf(text, end)) end++;
        field = text.slice(i, end);
        const quote = field.indexOf('"');
        if (quote !== -1) fail(line, i + quote - lineStart + 1, 'bare " in non-quoted-field');
        i = end;
      }
      fields.push(field);
      if (text[i] === ",") {
        i++;
        continue;
      }
      // end of the record: a line end or the end of the text
      if (i < n) {
        i += text[i] === "\n" ? 1 : 2;
        line++;
      }
      break;
    }
    records.push({ line: start, fields });
  }
  return records;
}

const atCrlf = (text: string, i: number): boolean => text[i] === "\r" && text[i + 1] === "\n";

/**
 * Parses kube-apiserver's static token file (`--token-auth-file`, k8s.io/apiserver
 * `pkg/authentication/token/tokenfile`): CSV records `token,user,uid[,"group1,group2"]`, read
 * as kube reads them. A record with fewer than 3 columns or broken quoting is an error naming
 * `file:line`; an empty token is skipped and a repeated token replaces the earlier one, each
 * with a warning, as kube does.
 */
export function parseTokenFile(
  text: string,
  source = "token file",
  options: TokenFileOptions = {},
): Map<string, TokenUser> {
  const tokens = new Map<string, TokenUser>();
  let recordNum = 0;
  for (const { line, fields } of csvRecords(text, source)) {
    if (fields.length < 3) {
      throw new SourceReadError(
        "option",
        source,
        `${source}:${line}: token file must have at least 3 columns (token, user name, user uid), found ${fields.length}`,
      );
    }
    recordNum++;
    const token = fields[0]!;
    if (token === "") {
      options.onWarning?.(
        `${source}:${line}: empty token has been found in token file, record number ${recordNum}`,
      );
      continue;
    }
    if (tokens.has(token)) {
      options.onWarning?.(
        `${source}:${line}: duplicate token has been found in token file, record number ${recordNum}`,
      );
    }
    // Go's strings.Split: an empty fourth column is one empty group, as in kube
    const groups = fields.length >= 4 ? fields[3]!.split(",") : [];
    tokens.set(token, { name: fields[1]!, uid: fields[2]!, groups });
  }
  return tokens;
}

/** Reads and parses a static token file. */
export function loadTokenFile(path: string, options?: TokenFileOptions): Map<string, TokenUser> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new SourceReadError("open", path, `reading token file: ${(e as Error).message}`, {
      cause: e,
    });
  }
  return parseTokenFile(text, path, options);
}
