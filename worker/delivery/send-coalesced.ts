import { encodeBatches, type BatchSubmission, type BatchVersion } from "../../src/index.js";
import { singleUpdateSizeIssue, toCheckedUpdate } from "../../src/internal/index.js";
import type { QueuedDelivery, RelayConfig } from "../config/relay-config.js";
import { quotasOf } from "../objects/target-quotas.js";
import { BatchesInFlightError, closeBatchSlot, freeBatchSlots, openBatchSlot } from "./batch-slots.js";
import { takeBulkCall } from "./bulk-budget.js";
import { scheduleFollowUp } from "./schedule-follow-up.js";
import { toRow, toUpdates, type Write } from "./writes.js";

/**
 * Single updates go out instead of a bulk call for at most this many visitors, when none of their
 * writes creates a profile (profile-creation.ts). A bulk call costs two of Target's 50 bulk calls a
 * minute (the submission and at least one status check); a single update costs one of a million a
 * day, per visitor, and needs no follow-up. A single update does not create a missing profile, which
 * is what the single route promised anyway, whereas the batch route promised a v2 batch.
 */
export const MAX_SINGLE_UPDATE_VISITORS = 2;

/**
 * Sends coalesced writes (the newest of each visitor's attribute, by visitor) to Target, each visitor's row
 * in a batch file of its `versions` entry (profile-creation.ts: v2 creates missing profiles, v1 does not);
 * or as single updates when that is cheaper and no visitor's creation is `pending`. Resolves once Target
 * accepted them (and each batch's ledger and follow-up are written); answers which way they went. Throws a
 * BatchesInFlightError, before sending anything, when the files would not all find a slot (batch-slots.ts).
 */
export async function sendCoalesced(
  visitors: Map<string, Map<string, Write>>,
  versions: ReadonlyMap<string, BatchVersion>,
  pending: ReadonlySet<string>,
  config: RelayConfig,
  queued: QueuedDelivery,
): Promise<"single" | "bulk"> {
  if (await singlesAreCheaper(visitors, versions, pending, config)) {
    await sendSingles(visitors, config);
    return "single";
  }
  const [created, updated] = [new Map<string, Map<string, Write>>(), new Map<string, Map<string, Write>>()];
  for (const [id, attributes] of visitors) (versions.get(id) === 2 ? created : updated).set(id, attributes);
  // Room for both files first: stopped after its first file, a delivery would send that file's rows twice.
  if ((await freeBatchSlots(config)) < Number(updated.size > 0) + Number(created.size > 0))
    throw new BatchesInFlightError("no room for this delivery's batches");
  await sendBatch(updated, 1, config, queued);
  await sendBatch(created, 2, config, queued);
  return "bulk";
}

async function singlesAreCheaper(
  visitors: Map<string, Map<string, Write>>,
  versions: ReadonlyMap<string, BatchVersion>,
  pending: ReadonlySet<string>,
  config: RelayConfig,
): Promise<boolean> {
  if (visitors.size > MAX_SINGLE_UPDATE_VISITORS) return false;
  if ([...visitors.keys()].some((id) => versions.get(id) === 2 || pending.has(id))) return false;
  // Coalesced writes may outgrow what one single update carries (60 KB); a batch row takes more.
  const fit = ([id, attributes]: [string, Map<string, Write>]) =>
    singleUpdateSizeIssue(toCheckedUpdate(toRow(id, attributes))) === undefined;
  if (![...visitors].every(fit)) return false;
  // Within the relay's share of Target's daily single updates (taken now, whatever happens next).
  return await quotasOf(config.quotas, config.clientCode).takeSingleUpdates(
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
 * The largest batch file a delivery builds: a delivery's bundles (100 of 100 KB) fit one file unless their
 * rows hold very different attribute names, whose empty cells could otherwise grow a file to Target's 50 MB
 * (and a Worker past its 128 MB). Past it, the rows go in further files.
 */
export const MAX_DELIVERY_FILE_BYTES = 16 * 1024 * 1024;

/**
 * One batch file of `version` per MAX_DELIVERY_FILE_BYTES (usually one for the whole delivery), each
 * taking a slot among the relay's unfinished batches, recorded in its ledger and followed up later.
 */
async function sendBatch(
  visitors: Map<string, Map<string, Write>>,
  version: BatchVersion,
  config: RelayConfig,
  queued: QueuedDelivery,
): Promise<void> {
  const rows = [...visitors].map(([mbox3rdPartyId, attributes]) => toRow(mbox3rdPartyId, attributes));
  const byVisitor = [...visitors.values()];
  let sent = 0;
  for (const file of encodeBatches(rows, { maxBytes: MAX_DELIVERY_FILE_BYTES })) {
    const slot = await openBatchSlot(config);
    let submission: BatchSubmission;
    try {
      await takeBulkCall(config);
      submission = await config.deliveryTarget.submitBatch(file, { version });
    } catch (error) {
      await closeBatchSlot(config, slot, error);
      throw error;
    }
    // The file holds the next `file.rows` visitors: the rows are distinct and encoded in order.
    const written = byVisitor.slice(sent, sent + file.rows).flatMap((attributes) => [...attributes.values()]);
    sent += file.rows;
    try {
      await scheduleFollowUp(queued, submission, toUpdates(written), { version, slot });
    } catch (error) {
      // Never to be followed up: nothing would settle the slot otherwise.
      await closeBatchSlot(config, slot);
      throw error;
    }
  }
}
