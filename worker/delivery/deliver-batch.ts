import { encodeBatches, type BatchFile, type RelayProfileUpdate } from "../../src/index.js";
import type { QueuedDelivery, RelayConfig } from "../config/relay-config.js";
import { RelayError } from "../relay-error.js";
import { UpdateTooLargeError } from "./bundles.js";
import { enqueueBundles, queueUnavailable, toQueuedUpdate } from "./enqueue.js";
import { sendInOrder } from "./ordered-send.js";
import type { QueuedUpdate } from "./queue-messages.js";
import { scheduleFollowUp } from "./schedule-follow-up.js";
import { writesOf } from "./writes.js";

/** How a batch route's updates went: a Target batch now, or onto the queues. Both count the file's rows. */
export type BatchDelivery =
  | { readonly via: "direct"; readonly batchId: string; readonly rows: number }
  | { readonly via: "queued"; readonly rows: number; readonly queued: number };

/**
 * Sends a batch route's updates (already checked) as one v2 batch file, which also creates missing
 * profiles. Updates that need more than one file are refused (413).
 *
 * With queued delivery (queue or auto), the updates are queued instead, each stamped on its own. They
 * go straight to the deliveries queue, packed into bundles (sendBatch): they are many already, so they
 * need no gathering, and in the queue their rows share bulk calls with everyone else's, within the one
 * bulk budget the consumer keeps, and are ordered against the single updates of the same visitors. Sent
 * directly, a batch could overwrite a newer queued write, and its call would bypass that budget. In
 * direct (and realtime) delivery with the queues bound, the batch goes at once in order with them (ordered-send.ts) and
 * is followed up like a queued one, or is queued after what they carry of the same visitors.
 */
export async function deliverBatch(
  config: RelayConfig,
  updates: readonly RelayProfileUpdate[],
): Promise<BatchDelivery> {
  const file = oneFile(updates, config.maxBatchRows);
  const { queued } = config;
  if (queued === undefined) {
    const { batchId } = await config.target.submitBatch(file, { version: 2 });
    return { via: "direct", batchId, rows: file.rows };
  }

  const stamped = updates.map((update) => toQueuedUpdate(update, "batch"));
  // Realtime delivery sends batches as direct delivery does: its real time is for single writes.
  if (config.delivery === "direct" || config.delivery === "realtime") {
    let batchId = "";
    const send = async (signal: AbortSignal) => {
      const submission = await config.target.submitBatch(file, { version: 2, signal });
      batchId = submission.batchId;
      // Followed up like a queued batch: the rows Target fails are queued again.
      await scheduleFollowUp(queued, submission, stamped);
    };
    const sent = await sendInOrder(queued.newestWrites, writesOf(stamped), send);
    // Sent; queued again only to be recorded as delivered (a repeat of the same values).
    if (sent === "unconfirmed") await enqueueBundles(queued, stamped).catch(() => {});
    if (sent !== "queue") return { via: "direct", batchId, rows: file.rows };
  }
  await enqueue(queued, stamped);
  return { via: "queued", rows: file.rows, queued: stamped.length };
}

/** The updates as one batch file (repeated ids merged), or a 413 when they need more. */
function oneFile(updates: readonly RelayProfileUpdate[], maxRows: number): BatchFile {
  const files = encodeBatches(updates, { maxRows });
  const file = files.next().value;
  if (file === undefined || !files.next().done) {
    throw new RelayError(
      413,
      "payload_too_large",
      `the updates need more than one batch file: send at most ${maxRows} distinct mbox3rdPartyIds per request`,
    );
  }
  return file;
}

async function enqueue(queued: QueuedDelivery, updates: readonly QueuedUpdate[]): Promise<void> {
  try {
    await enqueueBundles(queued, updates);
  } catch (error) {
    if (error instanceof UpdateTooLargeError)
      throw new RelayError(413, "payload_too_large", `${error.message}: send it alone`);
    throw queueUnavailable();
  }
}
