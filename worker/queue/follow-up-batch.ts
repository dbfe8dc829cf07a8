import { isTargetHttpError, isTargetRejectedError, type BatchStatus } from "../../src/index.js";
import type { QueuedDelivery, RelayConfig } from "../config/relay-config.js";
import { closeBatchSlot } from "../delivery/batch-slots.js";
import { takeBulkCall } from "../delivery/bulk-budget.js";
import { enqueueBundles } from "../delivery/enqueue.js";
import { failureReason } from "../delivery/failure-reason.js";
import type { FollowUpMessage } from "../delivery/queue-messages.js";
import { scheduleNextCheck } from "../delivery/schedule-follow-up.js";
import { writesOf } from "../delivery/writes.js";
import { ledgerOf } from "../objects/batch-ledger.js";
import { deadLetterStoreOf } from "../objects/dead-letter-store.js";
import { recordCreations, retractWrites } from "../objects/newest-writes-client.js";
import type { QueueLog } from "./queue-log.js";
import { ackAll, retryAll, type Received } from "./settle.js";

/** Checks before the status counts as unknown: 60 s doubling, capped at an hour, spans about a day (Target keeps statuses ~24 h). */
export const MAX_CHECKS = 28;

/**
 * The deliveries queue's consumer, for follow-ups: reads a submitted batch's detailed status. While
 * it is `incomplete` (or cannot be read), the check is scheduled again (a new delayed message; the
 * retry count is kept for real failures). Once it is `complete`, the updates of the ids Target
 * listed as failed are queued once more, marked `requeued`; those that were already are
 * dead-lettered (their confirmations are taken back first). A `stuck` batch, or one whose status never
 * comes (404: gone, or too many checks), counts as all of its rows failed. A v2 batch's rows that did not
 * fail are created profiles (delivery/profile-creation.ts). Then the batch's ledger is forgotten, its slot
 * among the relay's unfinished batches given back, and the message acked.
 */
export async function followUpBatch(
  received: Received,
  config: RelayConfig,
  queued: QueuedDelivery,
  log: QueueLog,
): Promise<void> {
  const followUp = received.body as FollowUpMessage;
  log.followUps = (log.followUps ?? 0) + 1;
  try {
    const outcome = await checkStatus(followUp, config, queued);
    if (outcome === "check again") {
      await scheduleNextCheck(queued, followUp);
    } else {
      await settleRows(followUp, outcome, queued, log);
      // Read: the batch no longer holds one of the statuses Target keeps (delivery/batch-slots.ts).
      if (followUp.slot !== undefined) await closeBatchSlot(config, followUp.slot);
    }
    ackAll([received], log);
  } catch (error) {
    log.error = failureReason(error);
    await retryAll([received], log.error, queued, log);
  }
}

type Outcome = "check again" | { readonly failedIds: ReadonlySet<string> | "all"; readonly reason: string };

async function checkStatus(followUp: FollowUpMessage, config: RelayConfig, queued: QueuedDelivery): Promise<Outcome> {
  const lastCheck = followUp.checks + 1 >= MAX_CHECKS;
  let status: BatchStatus;
  try {
    await takeBulkCall(config);
    status = await config.deliveryTarget.getBatchStatus(followUp.statusUrl, { details: true });
  } catch (error) {
    const gone = (isTargetHttpError(error) || isTargetRejectedError(error)) && error.status === 404;
    if (gone || lastCheck) return { failedIds: "all", reason: "batch_status_unknown" };
    return "check again";
  }
  if (status.status === "incomplete")
    return lastCheck ? { failedIds: "all", reason: "batch_status_unknown" } : "check again";
  if (status.status === "stuck") return { failedIds: "all", reason: "batch_stuck" };
  // Target "may" list its failed rows: when it counts more than it lists, which did not land is unknown.
  if ((status.failedUpdates ?? 0) > status.failedIds.length) return { failedIds: "all", reason: "row_failed" };
  return { failedIds: new Set(status.failedIds), reason: "row_failed" };
}

async function settleRows(
  { batchId, version = 2 }: FollowUpMessage,
  { failedIds, reason }: Exclude<Outcome, "check again">,
  queued: QueuedDelivery,
  log: QueueLog,
) {
  const ledger = ledgerOf(queued.ledgers, batchId);
  const updates = await ledger.read();
  const failed = updates.filter((update) => failedIds === "all" || failedIds.has(update.mbox3rdPartyId));
  // Not delivered after all: older writes wait for these again, and these are sent again.
  await retractWrites(queued.newestWrites, writesOf(failed));
  if (version === 2) {
    // A complete v2 row created its profile (a visitor's later writes go in v1 files); a failed one did not.
    const failedVisitors = new Set(failed.map(({ mbox3rdPartyId }) => mbox3rdPartyId));
    const created = new Set(
      updates.map(({ mbox3rdPartyId }) => mbox3rdPartyId).filter((id) => !failedVisitors.has(id)),
    );
    if (created.size > 0) await recordCreations(queued.newestWrites, created, "created");
    if (failedVisitors.size > 0) await recordCreations(queued.newestWrites, failedVisitors, "promised");
  }
  const again = failed.filter((update) => !update.requeued).map((update) => ({ ...update, requeued: true as const }));
  const dead = failed.filter((update) => update.requeued);
  if (again.length > 0) await enqueueBundles(queued, again);
  if (dead.length > 0)
    await deadLetterStoreOf(queued.deadLetters).keep(
      dead.map((update) => ({ update, reason })),
      Date.now(),
    );
  await ledger.forget();
  log.requeued = (log.requeued ?? 0) + again.length;
  log.deadLettered = (log.deadLettered ?? 0) + dead.length;
}
