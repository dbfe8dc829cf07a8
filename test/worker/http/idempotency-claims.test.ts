import { afterEach, describe, expect, it, vi } from "vitest";
import { handleRequest } from "../../../worker/http/handle-request.js";
import { CLAIM_TIMEOUT_MS } from "../../../worker/objects/idempotency-keys.js";
import { envWith, fakeTarget, post } from "../helpers.js";

afterEach(() => {
  vi.useRealTimers();
});

/** Waits (in real time: setTimeout is not faked here) until the first request has claimed its key and called Target. */
async function untilTargetIsCalled(emulator: ReturnType<typeof fakeTarget>["emulator"]) {
  while (emulator.calls.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
}

describe("an Idempotency-Key claim", () => {
  it("lasts as long as the request: a repeat after the claim timeout, while Target is still slow on the first, gets 409", async () => {
    vi.useFakeTimers({ toFake: ["Date", "setInterval", "clearInterval"] });
    const { emulator } = fakeTarget();
    emulator.seedProfile({ thirdPartyId: "claim-1" });
    // Target answers the first update slower than a claim lasts (in the relay's clock).
    emulator.injectFaults({ delayMs: 1_500 });
    const request = () =>
      post("/v1/profiles/claim-1", { attributes: { tier: "gold" } }, { headers: { "idempotency-key": "slow-1" } });
    const relay = envWith({ UPDATES_QUEUE: undefined });

    const first = handleRequest(request(), relay);
    await untilTargetIsCalled(emulator);
    await vi.advanceTimersByTimeAsync(CLAIM_TIMEOUT_MS + 30_000);
    const during = await handleRequest(request(), relay);
    const answered = await first;
    const after = await handleRequest(request(), relay);

    expect(during.status).toBe(409);
    expect(answered.status).toBe(202);
    expect(after.headers.get("idempotent-replayed")).toBe("true");
    expect(emulator.calls.filter(({ operation }) => operation === "update")).toHaveLength(1);
  });

  it("lapses once its request stopped renewing it (its isolate died): a repeat then runs", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const { emulator } = fakeTarget();
    emulator.seedProfile({ thirdPartyId: "claim-2" });
    emulator.injectFaults({ delayMs: 400 });
    const request = () =>
      post("/v1/profiles/claim-2", { attributes: { tier: "gold" } }, { headers: { "idempotency-key": "dead-1" } });
    const relay = envWith({ UPDATES_QUEUE: undefined });

    // Renewals run on (real) intervals, which do not fire within this test: as if the first request had died.
    const first = handleRequest(request(), relay);
    await untilTargetIsCalled(emulator);
    vi.setSystemTime(Date.now() + CLAIM_TIMEOUT_MS + 1_000);
    const repeat = await handleRequest(request(), relay);
    await first;

    expect(repeat.status).toBe(202);
    expect(repeat.headers.has("idempotent-replayed")).toBe(false);
  });
});
