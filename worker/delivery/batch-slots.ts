// The relay's unfinished batches: Target keeps only the last KEPT_BATCH_STATUSES (10) batch statuses of an
// account, so from the oldest batch of the relay whose status is not read yet, the relay makes at most that
// many submissions (objects/target-quotas.ts). With more, the oldest statuses would be gone before being
// read, and their rows counted as failed (sent again, then dead-lettered) although Target applied them. A
// delivery finding no slot free is parked (queue/settle.ts), a direct batch queued.
import {
  isTargetHttpError,
  isTargetRejectedError,
  isTargetValidationError,
  KEPT_BATCH_STATUSES,
} from "../../src/index.js";
import type { RelayConfig } from "../config/relay-config.js";
import { quotasOf } from "../objects/target-quotas.js";
import { RelayError } from "../relay-error.js";
import { BulkBudgetExhaustedError } from "./failure-reason.js";

/** No slot is free for another batch: wait for a follow-up to read one. */
export class BatchesInFlightError extends Error {
  override name = "BatchesInFlightError";
}

/** Slots free now (another isolate may take one before this one does). */
export function freeBatchSlots(config: RelayConfig): Promise<number> {
  return quotasOf(config.quotas, config.clientCode).freeBatchSlots(KEPT_BATCH_STATUSES, Date.now());
}

/** Takes a slot for a batch about to be submitted, or throws a BatchesInFlightError. */
export async function openBatchSlot(config: RelayConfig): Promise<string> {
  const slot = crypto.randomUUID();
  const opened = await quotasOf(config.quotas, config.clientCode).openBatch(slot, KEPT_BATCH_STATUSES, Date.now());
  if (!opened) throw new BatchesInFlightError(`${KEPT_BATCH_STATUSES} batches are unfinished`);
  return slot;
}

/**
 * Settles a slot, best effort (a slot left open lapses in a day): its batch's status was read (or will never
 * be); or its submission failed, with `failure`. A batch Target answered with an error, or that was never
 * sent, has no status; any other failure (a timeout, a lost connection) may hide a batch Target took, whose
 * status then counts among those Target keeps.
 */
export async function closeBatchSlot(config: RelayConfig, slot: string, failure?: unknown): Promise<void> {
  await quotasOf(config.quotas, config.clientCode)
    .closeBatch(slot, failure !== undefined && neverSubmitted(failure) ? "dropped" : "read")
    .catch(() => {});
}

/** Gives back the slot of a batch that was never sent. */
export async function dropBatchSlot(config: RelayConfig, slot: string): Promise<void> {
  await quotasOf(config.quotas, config.clientCode)
    .closeBatch(slot, "dropped")
    .catch(() => {});
}

const neverSubmitted = (failure: unknown) =>
  isTargetHttpError(failure) ||
  isTargetRejectedError(failure) ||
  isTargetValidationError(failure) ||
  failure instanceof BulkBudgetExhaustedError ||
  (failure instanceof RelayError && failure.status === 429);
