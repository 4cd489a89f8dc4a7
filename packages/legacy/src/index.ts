export {
  eventsToLegacy,
  isConvertedEventValid,
  type LegacyConversionResult,
  LegacyConverter,
  type LegacyLineError,
  type LegacyLineInput,
  type LegacyToEventsOptions,
  type LineReadError,
  legacyToEventBatches,
  legacyToEvents,
} from "./convert";
export { LegacyFormatError, LegacyParseError } from "./errors";
export { formatLegacyLine } from "./format";
export { goQuote } from "./go-quote";
export {
  type LegacyGeneration,
  type LegacyLineKind,
  type LegacyRecord,
  parseLegacyLine,
} from "./parse";
export { LINE_BATCHES, type LineSource, type SplitLinesOptions, splitLines } from "./split-lines";
