import { sleep } from "../internal/sleep.js";
import { BULK_CALL_WINDOW_MS } from "../limits.js";

/**
 * Keeps calls within `limit` per rolling `windowMs`: Target allows 50 Admin, Reporting and Bulk API
 * calls a minute and answers 503 beyond. Each attempt (retries included) takes a slot, because each
 * one counts at Target.
 */
export interface RollingLimiter {
  /** Resolves when a call may start now (and counts it); rejects with the signal's reason on abort. */
  acquire(signal?: AbortSignal): Promise<void>;
}

export function createRollingLimiter(limit: number, windowMs = BULK_CALL_WINDOW_MS): RollingLimiter {
  // Start times of the calls in the current window, oldest first (at most `limit` of them).
  const started: number[] = [];
  return {
    async acquire(signal) {
      for (;;) {
        signal?.throwIfAborted();
        const now = Date.now();
        while (started.length > 0 && (started[0] as number) <= now - windowMs) started.shift();
        if (started.length < limit) {
          started.push(now);
          return;
        }
        await sleep((started[0] as number) + windowMs - now, signal);
      }
    },
  };
}
