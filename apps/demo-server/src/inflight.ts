import type { ServerResponse } from "node:http";
import { isLongRunning, type RequestAttributes, type UserAttributes } from "@kaudit/api";
import { MASTERS } from "./auth";

/** kube's read-only verbs (maxinflight.go `nonMutatingRequestVerbs`). */
const NON_MUTATING = new Set(["get", "list", "watch"]);

/**
 * kube-apiserver's WithMaxInFlightLimit (`--max-requests-inflight`,
 * `--max-mutating-requests-inflight`): beyond the limits a request gets 429 with `Retry-After: 1`
 * and kube's plain-text body. Long-running requests and system:masters are not counted, so an
 * admin is answered however many other clients there are. A limit of 0 means none.
 */
export class InflightLimiter {
  private readOnly = 0;
  private mutating = 0;

  constructor(
    private readonly maxReadOnly: number,
    private readonly maxMutating: number,
  ) {}

  /**
   * Counts the request until its response closes; false (with the 429 sent) when over a limit.
   */
  admit(attrs: RequestAttributes, user: UserAttributes, res: ServerResponse): boolean {
    if (isLongRunning(attrs) || (user.groups ?? []).includes(MASTERS)) return true;
    const mutating = !NON_MUTATING.has(attrs.verb);
    const limit = mutating ? this.maxMutating : this.maxReadOnly;
    if (limit <= 0) return true;
    if ((mutating ? this.mutating : this.readOnly) >= limit) {
      const body = "Too many requests, please try again later.\n";
      res.writeHead(429, {
        "Content-Type": "text/plain; charset=utf-8",
        "X-Content-Type-Options": "nosniff",
        "Retry-After": "1",
        "Content-Length": Buffer.byteLength(body),
      });
      res.end(body);
      return false;
    }
    if (mutating) this.mutating++;
    else this.readOnly++;
    res.once("close", () => {
      if (mutating) this.mutating--;
      else this.readOnly--;
    });
    return true;
  }
}
