// The relay's one bulk budget: every bulk call it makes (a route's batch submission or status read, the
// queue's deliveries and follow-ups) first takes one of the account's TARGET_BULK_CALLS_PER_MINUTE slots,
// counted across every isolate by the account's TargetQuotas object, and each call is one attempt (the
// clients that make them do not retry: a retry would be another of Target's 50 calls a minute).
import { sleep } from "../../src/internal/index.js";
import type { RelayConfig } from "../config/relay-config.js";
import { quotasOf } from "../objects/target-quotas.js";
import { RelayError } from "../relay-error.js";
import { BulkBudgetExhaustedError } from "./failure-reason.js";

/** How long a delivery waits for a bulk call slot before it gives up (and its messages are retried). */
export const MAX_BULK_WAIT_MS = 90_000;

/** How long a route's caller waits for a slot; past it, the caller gets 429 with Retry-After instead. */
export const MAX_ROUTE_BULK_WAIT_MS = 3_000;

/**
 * The share of the bulk budget the status reads of GET /v1/batches/{id} may use in any rolling minute (10
 * of 50): however many a reader makes, writes keep the rest.
 */
export const STATUS_READ_SHARE = 0.2;

/** Whose call it is: the writes' own (a route's submission, a delivery, a follow-up), or a route's status read. */
export type BulkCaller = "write" | "status read";

/**
 * Waits for, and takes, one bulk call slot for the queue's consumer: up to MAX_BULK_WAIT_MS, then a
 * BulkBudgetExhaustedError (its messages are retried later).
 */
export async function takeBulkCall(config: RelayConfig): Promise<void> {
  const wait = await waitForSlot(config, "write", MAX_BULK_WAIT_MS);
  if (wait > 0) throw new BulkBudgetExhaustedError("no bulk call slot freed up in time");
}

/**
 * Takes one bulk call slot for a route: at once, or after a short wait (MAX_ROUTE_BULK_WAIT_MS); otherwise
 * a 429 whose Retry-After says when one frees up. A caller is never kept waiting for the budget.
 */
export async function takeRouteBulkCall(config: RelayConfig, caller: BulkCaller): Promise<void> {
  const wait = await waitForSlot(config, caller, MAX_ROUTE_BULK_WAIT_MS);
  if (wait === 0) return;
  const what = caller === "status read" ? "status reads" : "bulk calls";
  throw new RelayError(
    429,
    "rate_limited",
    `Adobe Target's bulk API budget for ${what} is used up for now: try again later`,
    {
      headers: { "retry-after": String(Math.ceil(wait / 1000)) },
    },
  );
}

/** Takes a slot within `maxWaitMs`: 0 once taken, else the milliseconds still to wait (nothing taken). */
async function waitForSlot(config: RelayConfig, caller: BulkCaller, maxWaitMs: number): Promise<number> {
  const quotas = quotasOf(config.quotas, config.clientCode);
  const statusReads =
    caller === "status read" ? Math.max(1, Math.floor(config.bulkCallsPerMinute * STATUS_READ_SHARE)) : undefined;
  let waited = 0;
  for (;;) {
    const wait = await quotas.takeBulkCall(config.bulkCallsPerMinute, Date.now(), statusReads);
    if (wait === 0 || waited + wait > maxWaitMs) return wait;
    await sleep(wait);
    waited += wait;
  }
}
