export type {
  PolicyDecision,
  PolicyEvaluator,
  RequestAttributes,
  Sink,
  UserAttributes,
} from "./contracts";
export {
  DecodeError,
  type DecodeOptions,
  decodeEvent,
  decodeEventList,
  jsonSyntaxMessage,
} from "./decode";
export {
  attachRawJSON,
  compactJSON,
  EncodeError,
  encodedEventsToList,
  encodeEvent,
  encodeEventList,
  encodeValue,
  goJSONString,
  rawJSONOf,
} from "./encode";
export { type Issue, KauditError } from "./errors";
export {
  checkGoJSON,
  GO_JSON_MAX_DEPTH,
  type GoJSONSyntaxError,
  jsonDepth,
} from "./go-json";
export { goQuote, isGoPrint } from "./go-quote";
export { jsonDepthExceeded, MAX_JSON_DEPTH } from "./json-depth";
export { isValidLabelSelector } from "./label-selector";
export {
  API_VERSION,
  GROUP,
  HEADER_AUDIT_ID,
  isLevel,
  isStage,
  LEVELS,
  levelAtLeast,
  levelLess,
  levelOrdinal,
  STAGES,
} from "./levels";
export {
  formatMicroTime,
  microTimeRangeError,
  normalizeMicroTime,
  nowMicroTime,
  parseMicroTime,
} from "./micro-time";
export {
  attributesFromEvent,
  attributesFromRequest,
  isLongRunning,
  type RequestLike,
} from "./request-info";
export type {
  AuthenticationMetadata,
  Event,
  EventList,
  GroupResources,
  JSONValue,
  Level,
  ListMeta,
  MicroTime,
  ObjectMeta,
  ObjectReference,
  Policy,
  PolicyList,
  PolicyRule,
  RawObject,
  Stage,
  Status,
  StatusCause,
  StatusDetails,
  Time,
  UserInfo,
} from "./types";
export {
  isDeprecatedAuditVersion,
  type UpgradeEventOptions,
  upgradeEvent,
  upgradePolicy,
} from "./upgrade";
export {
  pointerToPath,
  type SchemaName,
  schemas,
  type ValidationResult,
  validateEvent,
  validateEventList,
  validatePolicySchema,
} from "./validate";
