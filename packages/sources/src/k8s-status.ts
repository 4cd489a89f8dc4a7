/** kube's `metav1.Status` reasons for the codes our servers answer. */
const REASONS: Record<number, string> = {
  400: "BadRequest",
  401: "Unauthorized",
  403: "Forbidden",
  405: "MethodNotAllowed",
  413: "RequestEntityTooLarge",
  415: "UnsupportedMediaType",
  429: "TooManyRequests",
  500: "InternalError",
  503: "ServiceUnavailable",
};

/** A `v1.Status` JSON body (with a newline) as kube-apiserver answers, success or failure. */
export function statusBody(code: number, message: string, retryAfterSeconds?: number): string {
  const ok = code >= 200 && code < 300;
  const status: Record<string, unknown> = {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: ok ? "Success" : "Failure",
  };
  if (!ok) {
    status.message = message;
    status.reason = REASONS[code] ?? "Unknown";
    if (retryAfterSeconds !== undefined) status.details = { retryAfterSeconds };
  }
  status.code = code;
  return `${JSON.stringify(status)}\n`;
}
