import { encodeBatches, type BatchVersion } from "../../src/index.js";
import { singleUpdateSizeIssue, toCheckedUpdate } from "../../src/internal/index.js";
import type { QueuedDelivery, RelayConfig } from "../config/relay-config.js";
import { quotasOf } from "../objects/target-quotas.js";
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
 * Sends coalesced writes (the newest of each visitor's attribute, by visitor) to Target: the visitors in
 * `creating` (profile-creation.ts) in v2 batch files, which create missing profiles, the others in v1 files,
 * which do not; or as single updates when that is cheaper. Resolves once Target accepted them (and each
 * batch's ledger and follow-up are written); answers which way they went.
 */
export async function sendCoalesced(
  visitors: Map<string, Map<string, Write>>,
  creating: ReadonlySet<string>,
  config: RelayConfig,
  queued: QueuedDelivery,
): Promise<"single" | "bulk"> {
  if (await singlesAreCheaper(visitors, creating, config)) {
    await sendSingles(visitors, config);
    return "single";
  }
  const [created, updated] = [new Map<string, Map<string, Write>>(), new Map<string, Map<string, Write>>()];
  for (const [id, attributes] of visitors) (creating.has(id) ? created : updated).set(id, attributes);
  await sendBatch(updated, 1, config, queued);
  await sendBatch(created, 2, config, queued);
  return "bulk";
}

async function singlesAreCheaper(
  visitors: Map<string, Map<string, Write>>,
  creating: ReadonlySet<string>,
  config: RelayConfig,
): Promise<boolean> {
  if (visitors.size > MAX_SINGLE_UPDATE_VISITORS) return false;
  if ([...visitors.keys()].some((id) => creating.has(id))) return false;
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
 * recorded in its ledger and followed up later.
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
    await takeBulkCall(config);
    const submission = await config.deliveryTarget.submitBatch(file, { version });
    // The file holds the next `file.rows` visitors: the rows are distinct and encoded in order.
    const written = byVisitor.slice(sent, sent + file.rows).flatMap((attributes) => [...attributes.values()]);
    sent += file.rows;
    await scheduleFollowUp(queued, submission, toUpdates(written));
  }
}
