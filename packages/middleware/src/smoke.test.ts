import { describe, expect, it } from "vitest";
import { withAudit } from "./index";
import { fixedPolicy, listen, MemorySink, request } from "./test-helpers";

describe("smoke", () => {
  it("audits a request", async () => {
    const sink = new MemorySink();
    const srv = await listen(
      withAudit((_req, res) => res.end("hi"), { sink, policy: fixedPolicy("Metadata") }),
    );
    const r = await request(srv.port, { path: "/api/v1/namespaces/default/pods/foo" });
    const evs = await sink.final(r.headers["audit-id"] as string);
    console.log(JSON.stringify(evs, null, 1));
    await srv.close();
    expect(evs.length).toBe(2);
  });
});
