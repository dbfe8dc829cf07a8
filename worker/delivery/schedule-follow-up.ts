import type { BatchSubmission } from "../../src/index.js";
import type { QueuedDelivery } from "../config/relay-config.js";
import { ledgerOf } from "../objects/batch-ledger.js";
import type { FollowUpMessage, QueuedUpdate } from "./queue-messages.js";
import { sendMessages } from "./send-messages.js";

/** The first status check comes this long after a submission; each later one waits twice as long. */
export const FIRST_CHECK_SECONDS = 60;
const MAX_CHECK_DELAY_SECONDS = 60 * 60;

/**
 * Keeps a submitted batch's updates in its ledger and queues its first status check: from then on,
 * the rows Target fails are queued again (queue/follow-up-batch.ts, the check's consumer).
 */
export async function scheduleFollowUp(
  queued: QueuedDelivery,
  { batchId, statusUrl }: BatchSubmission,
  updates: readonly QueuedUpdate[],
  batch: { readonly version: 1 | 2; readonly slot: string },
): Promise<void> {
  await ledgerOf(queued.ledgers, batchId).record(updates);
  const followUp: FollowUpMessage = { type: "follow-up", batchId, statusUrl, checks: 0, ...batch };
  await sendMessages(queued.deliveries, [followUp], { delaySeconds: FIRST_CHECK_SECONDS });
}

/** Queues a batch's next status check: 60 s after the submission, doubling, at most an hour apart. */
export async function scheduleNextCheck(queued: QueuedDelivery, followUp: FollowUpMessage): Promise<void> {
  const next: FollowUpMessage = { ...followUp, checks: followUp.checks + 1 };
  await sendMessages(queued.deliveries, [next], {
    delaySeconds: Math.min(MAX_CHECK_DELAY_SECONDS, FIRST_CHECK_SECONDS * 2 ** next.checks),
  });
}
