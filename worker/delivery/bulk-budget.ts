import { sleep } from "../../src/internal/index.js";
import type { QueuedDelivery, RelayConfig } from "../config/relay-config.js";
import { quotasOf } from "../objects/target-quotas.js";
import { BulkBudgetExhaustedError } from "./failure-reason.js";

/** How long a delivery waits for a bulk call slot before it gives up (and its messages are retried). */
export const MAX_BULK_WAIT_MS = 90_000;

/**
 * Waits for, and takes, one of the account's bulk calls (TARGET_BULK_CALLS_PER_MINUTE of Target's
 * 50 a minute), counted across every isolate by the account's TargetQuotas object.
 */
export async function takeBulkCall(config: RelayConfig, queued: QueuedDelivery): Promise<void> {
  const quotas = quotasOf(queued.quotas, config.clientCode);
  let waited = 0;
  for (;;) {
    const wait = await quotas.takeBulkCall(config.bulkCallsPerMinute, Date.now());
    if (wait === 0) return;
    if (waited + wait > MAX_BULK_WAIT_MS) throw new BulkBudgetExhaustedError("no bulk call slot freed up in time");
    await sleep(wait);
    waited += wait;
  }
}
