import { describe, expect, it } from "vitest";
import { KauditError } from "./errors";

class PolicyLikeError extends KauditError {
  constructor(readonly issues: string[]) {
    super(`${issues.length} problems`, { name: "PolicyLikeError" });
  }
}

describe("KauditError", () => {
  it("is recognised through the registered marker, also for subclasses", () => {
    const e = new PolicyLikeError(["a"]);
    expect(KauditError.isInstance(e)).toBe(true);
    expect(e.name).toBe("PolicyLikeError");
    expect(e).toBeInstanceOf(Error);
    expect(KauditError.isInstance(new Error("x"))).toBe(false);
    expect(KauditError.isInstance(null)).toBe(false);
  });
  it("recognises an error from another copy of the package", () => {
    const foreign = Object.assign(new Error("x"), { [Symbol.for("kaudit.error")]: true });
    expect(KauditError.isInstance(foreign)).toBe(true);
  });
  it("keeps the cause", () => {
    const cause = new Error("root");
    expect(new KauditError("wrapped", { cause }).cause).toBe(cause);
  });
});
