import type { BatchFile, BatchSubmission, RelayProfileUpdate } from "../../src/index.js";
import type { QueuedDelivery, RelayConfig } from "../config/relay-config.js";
import { noteFailedStep, type RequestLog } from "../http/request-log.js";
import {
  claimCreations,
  creationStates,
  recordCreations,
  releaseCreations,
  retractWrites,
} from "../objects/newest-writes-client.js";
import { closeBatchSlot, dropBatchSlot, openBatchSlot } from "./batch-slots.js";
import { RelayError } from "../relay-error.js";
import { takeRouteBulkCall } from "./bulk-budget.js";
import { UpdateTooLargeError } from "./bundles.js";
import { enqueueBundles, queueUnavailable, toQueuedUpdate } from "./enqueue.js";
import { oneBatchFile } from "./one-batch-file.js";
import { sendInOrder, type DirectSend } from "./ordered-send.js";
import type { QueuedUpdate } from "./queue-messages.js";
import { scheduleFollowUp } from "./schedule-follow-up.js";
import { writesOf } from "./writes.js";

/** How a batch route's updates went: a Target batch now, or onto the queues. Both count the file's rows. */
export type BatchDelivery =
  | { readonly via: "direct"; readonly batchId: string; readonly rows: number }
  | { readonly via: "queued"; readonly rows: number; readonly queued: number };

/**
 * Sends a batch route's updates (already checked) as one v2 batch file, which also creates missing
 * profiles. Updates that need more than one file, or a file out of proportion to the request's
 * `requestBytes`, are refused (413, one-batch-file.ts).
 *
 * With queued delivery (queue or auto), the updates are queued instead, each stamped on its own. They
 * go straight to the deliveries queue, packed into bundles (sendBatch): they are many already, so they
 * need no gathering, and in the queue their rows share bulk calls with everyone else's, and are ordered
 * against the single updates of the same visitors (sent directly, a batch could overwrite a newer queued
 * write). In direct (and realtime) delivery with the queues bound, the batch goes at once in order with
 * them (ordered-send.ts) and is followed up like a queued one, or is queued after what they carry of the
 * same visitors. A batch sent at once takes a slot of the bulk budget first (429 when none frees up soon).
 */
export async function deliverBatch(
  config: RelayConfig,
  updates: readonly RelayProfileUpdate[],
  requestBytes: number,
  log: RequestLog,
): Promise<BatchDelivery> {
  const file = oneBatchFile(updates, { maxRows: config.maxBatchRows, requestBytes });
  const { queued } = config;
  if (queued === undefined) {
    await takeRouteBulkCall(config, "write");
    const { batchId } = await config.deliveryTarget.submitBatch(file, { version: 2 });
    return { via: "direct", batchId, rows: file.rows };
  }

  const stamped = updates.map((update) => toQueuedUpdate(update, "batch"));
  // Realtime delivery sends batches as direct delivery does: its real time is for single writes.
  if (config.delivery === "direct" || config.delivery === "realtime") {
    const batchId = await sendAtOnce(config, queued, file, stamped, log);
    if (batchId !== undefined) return { via: "direct", batchId, rows: file.rows };
  }
  await enqueue(queued, stamped);
  return { via: "queued", rows: file.rows, queued: stamped.length };
}

/**
 * The batch as one file now, in order with the queues (ordered-send.ts), when that is sound: a v2 file when
 * no v2 file of the relay carried any of its visitors yet, a v1 file when one carried each of them and is
 * complete (a second v2 could take back what the first set, on the strict reading of consecutive v2
 * batches: profile-creation.ts); and within a slot among the relay's unfinished batches (batch-slots.ts).
 * Its batch id, or `undefined` when the batch must be queued instead (the queue then puts each visitor in
 * the file its state calls for).
 */
async function sendAtOnce(
  config: RelayConfig,
  queued: QueuedDelivery,
  file: BatchFile,
  stamped: readonly QueuedUpdate[],
  log: RequestLog,
): Promise<string | undefined> {
  const visitors = new Set(stamped.map(({ mbox3rdPartyId }) => mbox3rdPartyId));
  // Visitors new to the relay go in a v2 file, claimed atomically (of two requests racing for a visitor,
  // one sends it, the other is queued); visitors all created, in a v1 file; any other mix is queued. The
  // claim comes first: it is what the usual request (new visitors) needs, and one round trip.
  let version: 1 | 2 = 2;
  if (!(await claimCreations(queued.newestWrites, visitors).catch(() => false))) {
    const states = await creationStates(queued.newestWrites, visitors).catch(() => undefined);
    if (states === undefined) return undefined;
    const created = [...states.values()].filter((state) => state === "created").length;
    if (created !== visitors.size) return undefined;
    version = 1;
  }
  const slot = await openBatchSlot(config).catch(() => undefined);
  if (slot === undefined) return undefined;
  let submission: BatchSubmission | undefined;
  let sent: DirectSend;
  try {
    sent = await sendInOrder(
      queued.newestWrites,
      writesOf(stamped),
      async (signal) => {
        await takeRouteBulkCall(config, "write");
        submission = await config.deliveryTarget.submitBatch(file, { version, signal });
      },
      version === 2,
    );
  } catch (error) {
    await closeBatchSlot(config, slot, submission === undefined ? error : undefined);
    // The caller is told it failed: no creation is promised for these visitors (best effort).
    if (version === 2) await releaseCreations(queued.newestWrites, visitors).catch(() => {});
    throw error;
  }
  if (sent === "queue" || submission === undefined) {
    await dropBatchSlot(config, slot);
    return undefined;
  }
  // Best effort: the follow-up records them as created anyway.
  if (version === 2) await recordCreations(queued.newestWrites, visitors, "sent").catch(() => {});
  await afterDirectBatch(config, queued, submission, { stamped, sent, slot, visitors, version }, log);
  return submission.batchId;
}

/**
 * What follows a direct batch Target accepted: its follow-up (the rows Target fails are queued again, as for
 * a queued batch). Nothing here fails the caller, who gets the accepted answer whatever happens: a follow-up
 * that cannot be written, or writes that could not be recorded as delivered ("unconfirmed"), are queued
 * again instead, so that the queue sends them once more (the same values) and follows them up itself. Each
 * failed step is logged, as requeued, or as lost when the queue failed too.
 */
async function afterDirectBatch(
  config: RelayConfig,
  queued: QueuedDelivery,
  submission: BatchSubmission,
  batch: {
    readonly stamped: readonly QueuedUpdate[];
    readonly sent: "sent" | "unconfirmed";
    readonly slot: string;
    readonly visitors: ReadonlySet<string>;
    readonly version: 1 | 2;
  },
  log: RequestLog,
): Promise<void> {
  const { stamped, sent, slot, visitors, version } = batch;
  let step = sent === "unconfirmed" ? "confirm" : undefined;
  try {
    await scheduleFollowUp(queued, submission, stamped, { version, slot });
  } catch {
    step = "follow_up";
    await closeBatchSlot(config, slot);
    // Its outcome will not be read: sent again through the queue, a v2 one as a creation still to come.
    if (version === 2) await recordCreations(queued.newestWrites, visitors, "promised").catch(() => {});
    // Recorded as delivered, they would be dropped as such when they come back: taken back first.
    if (sent === "sent") {
      const retracted = await retractWrites(queued.newestWrites, writesOf(stamped)).then(
        () => true,
        () => false,
      );
      if (!retracted) return noteFailedStep(log, step, "lost");
    }
  }
  if (step === undefined) return;
  try {
    await enqueueBundles(queued, stamped);
    noteFailedStep(log, step, "requeued");
  } catch {
    noteFailedStep(log, step, "lost");
  }
}

async function enqueue(queued: QueuedDelivery, updates: readonly QueuedUpdate[]): Promise<void> {
  try {
    await enqueueBundles(queued, updates);
  } catch (error) {
    if (error instanceof UpdateTooLargeError)
      throw new RelayError(413, "payload_too_large", `updates: ${error.message}`, { field: "updates" });
    throw queueUnavailable();
  }
}
