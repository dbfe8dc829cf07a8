import { encodeBatches } from "../../src/index.js";
import { singleUpdateSizeIssue, toCheckedUpdate } from "../../src/internal/index.js";
import type { QueuedDelivery, RelayConfig } from "../config/relay-config.js";
import { quotasOf } from "../objects/target-quotas.js";
import { takeBulkCall } from "./bulk-budget.js";
import { scheduleFollowUp } from "./schedule-follow-up.js";
import { toRow, toUpdates, type Write } from "./writes.js";

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
 * Sends coalesced writes (the newest of each visitor's attribute, by visitor) to Target: in one v2
 * batch file, or as single updates when that is cheaper. Resolves once Target accepted them (and each
 * batch's ledger and follow-up are written); answers which way they went.
 */
export async function sendCoalesced(
  visitors: Map<string, Map<string, Write>>,
  config: RelayConfig,
  queued: QueuedDelivery,
): Promise<"single" | "bulk"> {
  if (await singlesAreCheaper(visitors, config, queued)) {
    await sendSingles(visitors, config);
    return "single";
  }
  await sendBatch(visitors, config, queued);
  return "bulk";
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
  if (!fromSingleRoute) return false;
  // Coalesced writes may outgrow what one single update carries (60 KB); a batch row takes more.
  const fit = ([id, attributes]: [string, Map<string, Write>]) =>
    singleUpdateSizeIssue(toCheckedUpdate(toRow(id, attributes))) === undefined;
  if (![...visitors].every(fit)) return false;
  // Within the relay's share of Target's daily single updates (taken now, whatever happens next).
  return await quotasOf(queued.quotas, config.clientCode).takeSingleUpdates(
    visitors.size,
    config.singleUpdateLimit,
    Date.now(),
  );
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
