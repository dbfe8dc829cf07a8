// The producers of queued delivery: an update stamped with its arrival and put on a queue, at once.
import type { RelayProfileUpdate } from "../../src/index.js";
import type { QueuedDelivery } from "../config/relay-config.js";
import { RelayError } from "../relay-error.js";
import { stampArrival } from "./arrival-stamp.js";
import { expectCreations } from "../objects/newest-writes-client.js";
import { packBundles } from "./bundles.js";
import { createsProfile } from "./profile-creation.js";
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

/**
 * Queues one update on the updates queue, to be gathered with others. Resolves once it is durably queued.
 * One that creates its visitor's profile (a real-time write falling back) is noted first, as in `enqueueBundles`.
 */
export async function enqueueUpdate(queued: QueuedDelivery, update: QueuedUpdate): Promise<void> {
  if (createsProfile(update)) await expectCreations(queued.newestWrites, [update.mbox3rdPartyId]);
  await queued.updates.send({ type: "update", ...update }, { contentType: "json" });
}

/**
 * Queues updates that are already many (a batch request, a replay, rows to try again) straight on
 * the deliveries queue, packed into bundles. Resolves once all of them are durably queued. Those that
 * create their visitors' profiles are noted first (`expectCreations`): until they are delivered, newer
 * writes of those visitors create too, whichever reaches Target first.
 */
export async function enqueueBundles(queued: QueuedDelivery, updates: readonly QueuedUpdate[]): Promise<void> {
  const bundles = packBundles(updates);
  const creating = updates.filter(createsProfile).map(({ mbox3rdPartyId }) => mbox3rdPartyId);
  if (creating.length > 0) await expectCreations(queued.newestWrites, creating);
  await sendMessages(queued.deliveries, bundles);
}

/** The caller's answer when a write had to be queued and the queue would not take it: try again. */
export const queueUnavailable = (what = "the update") =>
  new RelayError(503, "queue_unavailable", `the relay could not queue ${what}: try again`, {
    headers: { "retry-after": String(QUEUE_RETRY_AFTER_SECONDS) },
  });
