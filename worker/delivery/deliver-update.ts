import {
  buildUpdateRequest,
  isTargetValidationError,
  type ProfileAttributes,
  type ProfileUpdate,
} from "../../src/index.js";
import type { QueuedDelivery, RelayConfig } from "../config/parse-env.js";
import { quotasOf } from "../objects/target-quotas.js";
import { sendInOrder } from "./ordered-send.js";
import { enqueueUpdate, toQueuedUpdate } from "./enqueue.js";
import type { QueuedUpdate } from "./queue-messages.js";
import { writesOf } from "./writes.js";
import { RelayError } from "../relay-error.js";
import type { RequestLog } from "../http/request-log.js";
import { describeUpstreamFailure } from "../http/to-relay-error.js";

/** Seconds a caller should wait when the queue would not take an update. */
export const QUEUE_RETRY_AFTER_SECONDS = 10;

/**
 * Sends one single-route update as RELAY_DELIVERY says:
 *  - direct: a Single Profile Update, now.
 *  - queue:  queued (202 once the queue holds it), later gathered into bulk batches.
 *  - auto:   direct while the relay's share of Target's rolling 24-hour single updates has room,
 *            queued beyond; and if Target fails it, queued instead of failing the caller.
 * Wherever the queues are bound, a direct send goes in order with them (ordered-send.ts): when
 * older writes of the visitor's attributes are on their way through them, it is queued after them,
 * in every mode.
 * Resolves with how it went; throws a RelayError (503) when it had to be queued and the queue failed.
 */
export async function deliverUpdate(
  config: RelayConfig,
  mbox3rdPartyId: string,
  attributes: ProfileAttributes,
  log: RequestLog,
): Promise<"direct" | "queued"> {
  const update = { mbox3rdPartyId, attributes } as ProfileUpdate;
  const { queued } = config;
  // updateProfile checks the update itself.
  if (queued === undefined) {
    await config.target.updateProfile(update);
    return "direct";
  }
  // Whatever the delivery, an update a single update could not carry is refused now, as in direct.
  buildUpdateRequest(update, { clientCode: config.clientCode });

  const stamped = toQueuedUpdate(mbox3rdPartyId, attributes, "single");
  const direct =
    config.delivery === "direct" ||
    (config.delivery === "auto" &&
      (await quotasOf(queued.quotas, config.clientCode).takeSingleUpdates(1, config.singleUpdateLimit, Date.now())));
  if (!direct) return await enqueue(queued, stamped);
  try {
    const sent = await sendInOrder(queued.newestWrites, writesOf([stamped]), (signal) =>
      config.target.updateProfile(update, { signal }),
    );
    if (sent === "queue") return await enqueue(queued, stamped);
    // Sent; queued again only to be recorded as delivered (a repeat of the same values).
    if (sent === "unconfirmed") await enqueueUpdate(queued, stamped).catch(() => {});
    return "direct";
  } catch (error) {
    // Direct delivery tells the caller; auto queues it instead.
    if (isTargetValidationError(error) || config.delivery === "direct") throw error;
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
