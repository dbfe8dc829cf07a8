// The producers of queued delivery: an update stamped with its arrival and put on a queue, at once.
import type { RelayProfileUpdate } from "../../src/index.js";
import type { QueuedDelivery } from "../config/relay-config.js";
import { RelayError } from "../relay-error.js";
import { stampArrival } from "./arrival-stamp.js";
import { packBundles } from "./bundles.js";
import type { QueuedUpdate } from "./queue-messages.js";
import { sendMessages } from "./send-messages.js";

/** Seconds a caller should wait when the queue would not take an update. */
export const QUEUE_RETRY_AFTER_SECONDS = 10;

/** An update as the relay queues it: stamped with its arrival, `null` attributes dropped. */
export function toQueuedUpdate(update: RelayProfileUpdate, origin: QueuedUpdate["origin"]): QueuedUpdate {
  const kept = Object.fromEntries(
    Object.entries(update.attributes).filter(
      (entry): entry is [string, string | number | boolean] => entry[1] !== null && entry[1] !== undefined,
    ),
  );
  return { ...stampArrival(), mbox3rdPartyId: update.mbox3rdPartyId, attributes: kept, origin };
}

/** Queues one single-route update on the updates queue, to be gathered with others. Resolves once it is durably queued. */
export async function enqueueUpdate(queued: QueuedDelivery, update: QueuedUpdate): Promise<void> {
  await queued.updates.send({ type: "update", ...update }, { contentType: "json" });
}

/**
 * Queues updates that are already many (a batch request, a replay, rows to try again) straight on
 * the deliveries queue, packed into bundles. Resolves once all of them are durably queued.
 */
export async function enqueueBundles(queued: QueuedDelivery, updates: readonly QueuedUpdate[]): Promise<void> {
  await sendMessages(queued.deliveries, packBundles(updates));
}

/** The caller's answer when a write had to be queued and the queue would not take it: try again. */
export const queueUnavailable = (what = "the update") =>
  new RelayError(503, "queue_unavailable", `the relay could not queue ${what}: try again`, {
    headers: { "retry-after": String(QUEUE_RETRY_AFTER_SECONDS) },
  });
