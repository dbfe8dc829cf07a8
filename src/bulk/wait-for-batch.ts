import * as v from "valibot";
import type { BatchStatus } from "./batch-status.js";
import { TargetTimeoutError } from "../errors.js";
import { sleep } from "../internal/sleep.js";
import { milliseconds, SignalSchema } from "../internal/schemas.js";
import { parseOrThrow } from "../internal/validation.js";

/**
 * Options of `waitForBatch`.
 * @example
 * await target.waitForBatch(submission, { timeout: 15 * 60_000, signal });
 */
export interface WaitForBatchOptions {
  /** Longest total wait in ms, polls and the bulk limiter included (default one hour). */
  readonly timeout?: number | undefined;
  /** First pause between polls in ms (default 2,000), growing by half each poll... */
  readonly minInterval?: number | undefined;
  /** ...up to this (default 60,000). Polls also count against the 50 bulk calls a minute. */
  readonly maxInterval?: number | undefined;
  /** Stops waiting. */
  readonly signal?: AbortSignal | undefined;
}

const pollingEntries = {
  timeout: v.optional(milliseconds("timeout"), 3_600_000),
  minInterval: v.optional(
    v.pipe(milliseconds("minInterval"), v.minValue(1, "minInterval must be at least 1 ms")),
    2_000,
  ),
  maxInterval: v.optional(milliseconds("maxInterval"), 60_000),
};

const unknownOption = (known: string) => (issue: v.ObjectIssue | v.StrictObjectIssue) =>
  issue.expected === "never" ? `unknown option: the polling options are ${known}` : "options must be an object";

/** `bulkUpdate`'s `wait` polling options: `waitForBatch`'s, without the signal (bulkUpdate has its own). */
export const PollingOptionsSchema = v.strictObject(
  pollingEntries,
  unknownOption("timeout, minInterval and maxInterval"),
);

const WaitOptionsSchema = v.strictObject(
  {
    ...pollingEntries,
    signal: SignalSchema,
  },
  unknownOption("timeout, minInterval, maxInterval and signal"),
);

/** Polls with growing pauses until the batch is `complete` or `stuck`, within `timeout` in all. */
export async function waitForBatch(
  getStatus: (signal: AbortSignal) => Promise<BatchStatus>,
  options: WaitForBatchOptions = {},
): Promise<BatchStatus> {
  const { timeout, minInterval, maxInterval, signal } = parseOrThrow(WaitOptionsSchema, options);
  // One signal for the whole wait, so a poll queued behind the bulk limiter cannot outlast it.
  const deadline = new AbortController();
  const timer = setTimeout(
    () => deadline.abort(new TargetTimeoutError(timeout, { operation: "waitForBatch", method: "GET" })),
    timeout,
  );
  const stop = signal ? AbortSignal.any([signal, deadline.signal]) : deadline.signal;
  try {
    for (let interval = minInterval; ; interval = Math.min(maxInterval, interval * 1.5)) {
      const status = await getStatus(stop);
      if (status.status !== "incomplete") return status;
      await sleep(interval, stop);
    }
  } finally {
    clearTimeout(timer);
  }
}
