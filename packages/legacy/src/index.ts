export { LegacyFormatError, LegacyParseError } from "./errors";
export { formatLegacyLine } from "./format";
export { goQuote } from "./go-quote";
export {
  type LegacyGeneration,
  type LegacyLineKind,
  type LegacyRecord,
  parseLegacyLine,
} from "./parse";
