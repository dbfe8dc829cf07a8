import { buildUpdateRequest, isTargetValidationError, type ProfileUpdate } from "../src/index.js";
import type { ProfileAttributes } from "../src/profile-update.js";
import type { QueuedDelivery, RelayConfig } from "./config.js";
import { admitWrites, confirmWrites } from "./objects/newest-writes.js";
import { quotasOf } from "./objects/target-quotas.js";
import { enqueueUpdate, toQueuedUpdate } from "./queue/enqueue.js";
import type { QueuedUpdate } from "./queue/messages.js";
import { writesOf } from "./queue/writes.js";
import { RelayError } from "./relay-error.js";
import type { RequestLog } from "./request-log.js";
import { describeUpstreamFailure } from "./to-relay-error.js";

/** Seconds a caller should wait when the queue would not take an update. */
export const QUEUE_RETRY_AFTER_SECONDS = 10;

/**
 * Sends one single-route update as RELAY_DELIVERY says:
 *  - direct: a Single Profile Update, now.
 *  - queue:  queued (202 once the queue holds it), later gathered into bulk batches.
 *  - auto:   direct while the relay's share of Target's rolling 24-hour single updates has room,
 *            queued beyond. A direct write is admitted against the versions on record first (and
 *            confirmed once sent), so a queued older write delivered later cannot overwrite it; and
 *            if Target fails it, it is queued instead of failing the caller (it was admitted, and
 *            older queued writes now wait for it, so it must still go out).
 * Resolves with how it went; throws a RelayError (503) when it had to be queued and the queue failed.
 */
export async function deliverUpdate(config: RelayConfig, mbox3rdPartyId: string, attributes: ProfileAttributes, log: RequestLog): Promise<"direct" | "queued"> {
  const update = { mbox3rdPartyId, attributes } as ProfileUpdate;
  // Whatever the delivery, an update a single update could not carry is refused now, as in direct.
  buildUpdateRequest(update, { clientCode: config.clientCode });
  const { queued } = config;
  if (config.delivery === "direct" || queued === undefined) {
    await config.target.updateProfile(update);
    return "direct";
  }

  const stamped = toQueuedUpdate(mbox3rdPartyId, attributes, "single");
  const direct =
    config.delivery === "auto" &&
    (await quotasOf(queued.quotas, config.clientCode).takeSingleUpdates(1, config.singleUpdateLimit, Date.now()));
  if (!direct) return await enqueue(queued, stamped);

  const writes = writesOf([stamped]);
  // Stamped just now, it is the newest, unless another isolate stamped a write in the same
  // millisecond: then the queue sorts it out.
  if ((await admitWrites(queued.newestWrites, writes)).some((admission) => admission !== "send")) return await enqueue(queued, stamped);
  try {
    await config.target.updateProfile(update);
    await confirmWrites(queued.newestWrites, writes);
    return "direct";
  } catch (error) {
    if (isTargetValidationError(error)) throw error;
    const upstream = describeUpstreamFailure(error);
    if (upstream !== undefined) log.upstream = upstream;
    return await enqueue(queued, stamped);
  }
}

async function enqueue(queued: QueuedDelivery, update: QueuedUpdate): Promise<"queued"> {
  try {
    await enqueueUpdate(queued, update);
  } catch {
    throw queueUnavailable();
  }
  return "queued";
}

export const queueUnavailable = () =>
  new RelayError(503, "queue_unavailable", "the relay could not queue the update: try again", {
    headers: { "retry-after": String(QUEUE_RETRY_AFTER_SECONDS) },
  });
