import { buildUpdateRequest, encodeBatches } from "../../src/index.js";
import type { QueuedDelivery, RelayConfig } from "../config/parse-env.js";
import { admitWrites, confirmWrites } from "../objects/newest-writes.js";
import { quotasOf } from "../objects/target-quotas.js";
import { takeBulkCall } from "../delivery/bulk-budget.js";
import { failureReason } from "../delivery/failure-reason.js";
import { scheduleFollowUp } from "./follow-up-batch.js";
import { updatesOf } from "../delivery/queue-messages.js";
import type { QueueLog } from "./queue-log.js";
import { ackAll, retryAll, type Received } from "./settle.js";
import { coalesce, compareVersions, toRow, toUpdates, writesOf, type Write } from "../delivery/writes.js";

/**
 * Single updates go out instead of a bulk call for at most this many visitors, when all of their
 * writes came through the single-update route. A bulk call costs two of Target's 50 bulk calls a
 * minute (the submission and at least one status check); a single update costs one of a million a
 * day, per visitor, and needs no follow-up. Only single-route writes qualify: a single update does
 * not create a missing profile, which is what that route promised anyway (as in direct delivery),
 * whereas the batch route promised a v2 batch.
 */
export const MAX_SINGLE_UPDATE_VISITORS = 2;

/**
 * The deliveries queue's consumer, for bundles: admits every write against the versions on record
 * (objects/newest-writes.ts), coalesces those to send per visitor (newest write wins per
 * attribute), and sends them in one v2 batch file — or as single updates when that is cheaper.
 * Once Target accepted them (and the batch's ledger and follow-up are written), the sent versions
 * are confirmed and the bundles acked, except those holding a write that must wait for a newer one
 * still on its way: they are retried, like every bundle when the delivery fails.
 */
export async function deliverBundles(
  received: readonly Received[],
  config: RelayConfig,
  queued: QueuedDelivery,
  log: QueueLog,
): Promise<void> {
  if (received.length === 0) return;
  const writesByMessage = received.map(({ body }) => {
    const { updates, invalid } = updatesOf(body);
    if (invalid > 0) log.invalid = (log.invalid ?? 0) + invalid;
    log.updates = (log.updates ?? 0) + updates.length;
    return writesOf(updates);
  });
  // Oldest first, so that writes of one batch never wait for each other.
  const writes = writesByMessage.flat().sort(compareVersions);
  try {
    const admissions = new Map(
      (await admitWrites(queued.newestWrites, writes)).map((admission, index) => [writes[index] as Write, admission]),
    );
    const sending = writes.filter((write) => admissions.get(write) === "send");
    log.superseded = writes.filter((write) => admissions.get(write) === "delivered").length;
    const visitors = coalesce(sending);
    log.rows = visitors.size;
    if (visitors.size > 0) {
      if (await singlesAreCheaper(visitors, config, queued)) {
        log.via = "single";
        await sendSingles(visitors, config);
      } else {
        log.via = "bulk";
        await sendBatch(visitors, config, queued);
      }
      await confirmWrites(
        queued.newestWrites,
        [...visitors.values()].flatMap((attributes) => [...attributes.values()]),
      );
    }
    const waiting = received.filter((_, index) =>
      writesByMessage[index]?.some((write) => admissions.get(write) === "wait"),
    );
    log.waiting = waiting.length;
    ackAll(
      received.filter((message) => !waiting.includes(message)),
      log,
    );
    await retryAll(waiting, "newer_write_pending", queued, log);
  } catch (error) {
    log.error = failureReason(error);
    await retryAll(received, log.error, queued, log);
  }
}

async function singlesAreCheaper(
  visitors: Map<string, Map<string, Write>>,
  config: RelayConfig,
  queued: QueuedDelivery,
): Promise<boolean> {
  if (visitors.size > MAX_SINGLE_UPDATE_VISITORS) return false;
  const fromSingleRoute = [...visitors.values()].every((attributes) =>
    [...attributes.values()].every((write) => write.origin === "single"),
  );
  if (
    !fromSingleRoute ||
    ![...visitors].every(([id, attributes]) => fitsSingleUpdate(toRow(id, attributes), config.clientCode))
  )
    return false;
  // Within the relay's share of Target's daily single updates (taken now, whatever happens next).
  return await quotasOf(queued.quotas, config.clientCode).takeSingleUpdates(
    visitors.size,
    config.singleUpdateLimit,
    Date.now(),
  );
}

/** Coalesced writes may outgrow what one single update carries (60 KB); a batch row takes more. */
function fitsSingleUpdate(row: ReturnType<typeof toRow>, clientCode: string): boolean {
  try {
    buildUpdateRequest(row, { clientCode });
    return true;
  } catch {
    return false;
  }
}

async function sendSingles(visitors: Map<string, Map<string, Write>>, config: RelayConfig): Promise<void> {
  // All or nothing: a bundle may hold both visitors, and a repeat of the one that went is harmless.
  for (const [mbox3rdPartyId, attributes] of visitors)
    await config.deliveryTarget.updateProfile(toRow(mbox3rdPartyId, attributes));
}

/**
 * One v2 batch file per Target's limits (a delivery's bundles fit one file: 100 bundles of 100 KB),
 * each recorded in its ledger and followed up later.
 */
async function sendBatch(
  visitors: Map<string, Map<string, Write>>,
  config: RelayConfig,
  queued: QueuedDelivery,
): Promise<void> {
  const rows = [...visitors].map(([mbox3rdPartyId, attributes]) => toRow(mbox3rdPartyId, attributes));
  const byVisitor = [...visitors.values()];
  let sent = 0;
  for (const file of encodeBatches(rows)) {
    await takeBulkCall(config, queued);
    const submission = await config.deliveryTarget.submitBatch(file, { version: 2 });
    // The file holds the next `file.rows` visitors: the rows are distinct and encoded in order.
    const written = byVisitor.slice(sent, sent + file.rows).flatMap((attributes) => [...attributes.values()]);
    sent += file.rows;
    await scheduleFollowUp(queued, submission, toUpdates(written));
  }
}
