import type { ProfileAttributes } from "../../src/index.js";
import { stampArrival } from "./arrival-stamp.js";
import type { QueuedDelivery } from "../config/parse-env.js";
import { packBundles } from "./bundles.js";
import type { QueuedUpdate } from "./queue-messages.js";
import { sendMessages } from "./send-messages.js";

/** An update as the relay queues it: stamped with its arrival, `null` attributes dropped. */
export function toQueuedUpdate(
  mbox3rdPartyId: string,
  attributes: ProfileAttributes,
  origin: QueuedUpdate["origin"],
): QueuedUpdate {
  const kept = Object.fromEntries(
    Object.entries(attributes).filter((entry): entry is [string, string | number | boolean] => entry[1] != null),
  );
  return { ...stampArrival(), mbox3rdPartyId, attributes: kept, origin };
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
