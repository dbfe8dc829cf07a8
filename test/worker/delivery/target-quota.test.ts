import { describe, expect, it } from "vitest";
import { handleRequest } from "../../../worker/http/handle-request.js";
import { MAX_QUEUE_DELAY_SECONDS } from "../../../worker/queue/settle.js";
import { envWith, errorOf, fakeTarget, get, post } from "../helpers.js";
import { bundleMessage, consume, QUEUES, queuedBindings, updateMessage } from "../queue-helpers.js";

// Target answers 429 with a long Retry-After once an account's rolling 24-hour quota (a million single
// updates, a million fetches) is used up (our reading, docs/target-api.md); the core throws TargetQuotaError.
// The relay passes the wait on rather than failing as if Target were broken (502), and stops sending
// single updates until then.
const QUOTA_WAIT_SECONDS = 7200;
const quotaAnswer = { status: 429, headers: { "retry-after": String(QUOTA_WAIT_SECONDS) } } as const;

describe("Target's quota used up", () => {
  it("answers a direct single update 503 target_quota_exhausted with Target's Retry-After, not 502", async () => {
    const { emulator } = fakeTarget({ clientCode: "quota-direct" });
    emulator.seedProfile({ thirdPartyId: "crm-q1" });
    emulator.injectFaults({ ...quotaAnswer, operations: ["update"] });

    const response = await handleRequest(
      post("/v1/profiles/crm-q1", { attributes: { tier: "gold" } }),
      envWith({ TARGET_CLIENT_CODE: "quota-direct", UPDATES_QUEUE: undefined }),
    );

    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe(String(QUOTA_WAIT_SECONDS));
    expect((await errorOf(response)).code).toBe("target_quota_exhausted");
  });

  it("answers a profile read 503 with Retry-After when the fetch quota is used up", async () => {
    const { emulator } = fakeTarget({ clientCode: "quota-read" });
    emulator.seedProfile({ thirdPartyId: "crm-q2" });
    emulator.injectFaults({ ...quotaAnswer, operations: ["fetch"] });

    const response = await handleRequest(get("/v1/profiles/crm-q2"), envWith({ TARGET_CLIENT_CODE: "quota-read" }));

    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe(String(QUOTA_WAIT_SECONDS));
  });

  it("in auto delivery, queues the write, and the next ones too without trying Target, until the wait is over", async () => {
    const { emulator } = fakeTarget({ clientCode: "quota-auto" });
    emulator.seedProfile({ thirdPartyId: "crm-q3" });
    emulator.injectFaults({ ...quotaAnswer, operations: ["update"] });
    const { bindings, updates } = queuedBindings({ TARGET_CLIENT_CODE: "quota-auto", RELAY_DELIVERY: "auto" });

    const first = await handleRequest(post("/v1/profiles/crm-q3", { attributes: { tier: "gold" } }), bindings);
    const second = await handleRequest(post("/v1/profiles/crm-q3", { attributes: { tier: "silver" } }), bindings);

    expect([first.status, second.status]).toEqual([202, 202]);
    expect(await second.json()).toMatchObject({ queued: 1 });
    expect(updates.sent).toHaveLength(2);
    expect(emulator.calls.filter(({ operation }) => operation === "update")).toHaveLength(1);
  });

  it("has the queue's consumer wait Target's Retry-After before retrying", async () => {
    const { emulator } = fakeTarget({ clientCode: "quota-queue" });
    emulator.seedProfile({ thirdPartyId: "crm-q4" });
    emulator.injectFaults({ ...quotaAnswer, operations: ["update"] });
    const { bindings } = queuedBindings({ TARGET_CLIENT_CODE: "quota-queue" });

    // One visitor's single-route write: sent as a single update (cheaper than a bulk call).
    const settled = await consume(
      QUEUES.deliveries,
      [{ body: bundleMessage([updateMessage("crm-q4", { tier: "gold" }, Date.now())]) }],
      bindings,
    );

    expect(settled.retried.get("msg-0")).toBe(Math.min(QUOTA_WAIT_SECONDS, MAX_QUEUE_DELAY_SECONDS));
    expect(emulator.calls.filter(({ operation }) => operation === "update")).toHaveLength(1);
  });
});
