import { describe, expect, it } from "vitest";
import { negotiateResponse } from "./negotiate";

describe("negotiateResponse", () => {
  it.each([
    [undefined, "json"],
    ["", "json"],
    // kubectl's typed clients
    ["application/vnd.kubernetes.protobuf, application/json", "json"],
    ["application/vnd.kubernetes.protobuf,application/json", "json"],
    ["application/json", "json"],
    ["application/json;as=Table;v=v1;g=meta.k8s.io,application/json", "json"],
    ["*/*", "json"],
    ["application/*", "json"],
    ["application/vnd.kubernetes.protobuf", "protobuf"],
    ["application/vnd.kubernetes.protobuf;q=0.9", "protobuf"],
    ["application/vnd.kubernetes.protobuf, application/json;q=0", "protobuf"],
    ["text/html", "none"],
    ["application/yaml", "none"],
    ["application/json;q=0", "none"],
  ])("Accept %j → %s", (accept, want) => {
    expect(negotiateResponse(accept)).toBe(want);
  });
});
