import { isTargetQuotaError } from "../../src/index.js";
import type { QueuedDelivery, RelayConfig } from "../config/relay-config.js";
import { BatchesInFlightError, freeBatchSlots } from "../delivery/batch-slots.js";
import { failureReason } from "../delivery/failure-reason.js";
import { creationPending, rowVersions } from "../delivery/profile-creation.js";
import { updatesOf } from "../delivery/queue-messages.js";
import { sendCoalesced } from "../delivery/send-coalesced.js";
import { coalesce, compareVersions, writesOf, type Write } from "../delivery/writes.js";
import { admitWrites, confirmWrites, creationStates, recordCreations } from "../objects/newest-writes-client.js";
import { holdSingleUpdates } from "../objects/target-quotas.js";
import type { QueueLog } from "./queue-log.js";
import { ackAll, parkAll, retryAll, type Received } from "./settle.js";

/**
 * The deliveries queue's consumer, for bundles: admits every write against the versions on record
 * (objects/newest-writes.ts), coalesces those to send per visitor (newest write wins per
 * attribute), and sends them (delivery/send-coalesced.ts): in batch files (v2 for the visitors whose
 * writes create profiles, v1 for the others: delivery/profile-creation.ts), or as single updates when
 * that is cheaper.
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
    // No slot for a batch now: parked at once, before any work (sendCoalesced checks again, exactly).
    if ((await freeBatchSlots(config)) <= 0) throw new BatchesInFlightError("no slot for a batch");
    const admissions = new Map(
      (await admitWrites(queued.newestWrites, writes)).map((admission, index) => [writes[index] as Write, admission]),
    );
    const sending = writes.filter((write) => admissions.get(write) === "send");
    log.superseded = writes.filter((write) => admissions.get(write) === "delivered").length;
    const visitors = coalesce(sending);
    log.rows = visitors.size;
    if (visitors.size > 0) {
      // Which visitors a v2 file creates, and which wait for a creation on its way (profile-creation.ts).
      const states = await creationStates(queued.newestWrites, visitors.keys());
      const versions = rowVersions(sending, states);
      const pending = new Set([...states].flatMap(([visitor, state]) => (creationPending(state) ? [visitor] : [])));
      log.via = await sendCoalesced(visitors, versions, pending, config, queued);
      await confirmWrites(
        queued.newestWrites,
        [...visitors.values()].flatMap((attributes) => [...attributes.values()]),
      );
      // Best effort: the batch's follow-up records them as created (or promised again) anyway.
      const created = [...versions].flatMap(([visitor, version]) => (version === 2 ? [visitor] : []));
      if (created.length > 0) await recordCreations(queued.newestWrites, created, "sent").catch(() => {});
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
    // Not a failure: the relay's unfinished batches are as many as Target keeps statuses of.
    if (error instanceof BatchesInFlightError) return await parkAll(received, queued, log);
    log.error = failureReason(error);
    // Target's quota: no single updates until it frees up, and these wait as long as Target said.
    if (isTargetQuotaError(error)) await holdSingleUpdates(config, error.retryAfter);
    await retryAll(received, log.error, queued, log, isTargetQuotaError(error) ? error.retryAfter : 0);
  }
}
