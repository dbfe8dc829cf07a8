import type { BatchStatus } from "./batch-status.js";
import { TargetTimeoutError } from "./errors.js";
import { sleep } from "./sleep.js";

/**
 * Options of `waitForBatch`.
 * @example
 * await target.waitForBatch(submission, { timeout: 15 * 60_000, signal });
 */
export interface WaitForBatchOptions {
  /** Longest total wait in ms (default one hour). */
  readonly timeout?: number;
  /** First pause between polls in ms (default 2,000), growing by half each poll... */
  readonly minInterval?: number;
  /** ...up to this (default 60,000). Polls also count against the 50 bulk calls a minute. */
  readonly maxInterval?: number;
  /** Stops waiting. */
  readonly signal?: AbortSignal | undefined;
}

/** Polls with growing pauses until the batch is `complete` or `stuck`. */
export async function waitForBatch(
  getStatus: (signal: AbortSignal | undefined) => Promise<BatchStatus>,
  { timeout = 3_600_000, minInterval = 2_000, maxInterval = 60_000, signal }: WaitForBatchOptions = {},
): Promise<BatchStatus> {
  const deadline = Date.now() + timeout;
  for (let interval = minInterval; ; interval = Math.min(maxInterval, interval * 1.5)) {
    const status = await getStatus(signal);
    if (status.status !== "incomplete") return status;
    const left = deadline - Date.now();
    if (left <= 0) throw new TargetTimeoutError(timeout, { operation: "waitForBatch", method: "GET" });
    await sleep(Math.min(interval, left), signal);
  }
}
