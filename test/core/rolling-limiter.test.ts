import { afterEach, describe, expect, it, vi } from "vitest";
import { createRollingLimiter } from "../../src/client/rolling-limiter.js";

afterEach(() => {
  vi.useRealTimers();
});

describe("createRollingLimiter", () => {
  it("lets `limit` calls start in any window, the rest as the window rolls", async () => {
    vi.useFakeTimers();
    const limiter = createRollingLimiter(2, 1_000);
    const started: number[] = [];
    const calls = [0, 1, 2, 3].map((call) => limiter.acquire().then(() => started.push(call)));
    await vi.advanceTimersByTimeAsync(0);
    expect(started).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(999);
    expect(started).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    await Promise.all(calls);
    expect(started).toHaveLength(4);
  });

  it("a waiter that aborts leaves with its reason and takes no slot", async () => {
    vi.useFakeTimers();
    const limiter = createRollingLimiter(1, 1_000);
    await limiter.acquire();
    const controller = new AbortController();
    const aborted = limiter.acquire(controller.signal).catch((reason: unknown) => reason);
    controller.abort(new Error("gave up"));
    expect(((await aborted) as Error).message).toBe("gave up");
    await vi.advanceTimersByTimeAsync(1_000);
    let next = false;
    void limiter.acquire().then(() => (next = true));
    await vi.advanceTimersByTimeAsync(0);
    expect(next).toBe(true);
  });
});
