import {
  isTargetQuotaError,
  isTargetValidationError,
  TargetValidationError,
  type RelayProfileUpdate,
} from "../../src/index.js";
import { singleUpdateSizeIssue, toCheckedUpdate } from "../../src/internal/index.js";
import type { QueuedDelivery, RelayConfig } from "../config/relay-config.js";
import { noteFailedStep, type RequestLog } from "../http/request-log.js";
import { holdSingleUpdates, quotasOf } from "../objects/target-quotas.js";
import { deliverRealtime } from "./deliver-realtime.js";
import { enqueueUpdate, queueUnavailable, toQueuedUpdate } from "./enqueue.js";
import { describeUpstreamFailure } from "./failure-reason.js";
import { sendInOrder } from "./ordered-send.js";
import type { QueuedUpdate } from "./queue-messages.js";
import { writesOf } from "./writes.js";

/**
 * Sends one single-route update (already checked) as RELAY_DELIVERY says (delivery-mode.ts):
 *  - direct: a Single Profile Update, now.
 *  - queue:  queued (202 once the queue holds it), later gathered into bulk batches.
 *  - auto:   direct while the relay's share of Target's rolling 24-hour single updates has room,
 *            queued beyond; and if Target fails it, queued instead of failing the caller.
 *  - realtime: through the Delivery API (deliver-realtime.ts), queued when it cannot be.
 * Wherever the queues are bound, a direct send goes in order with them (ordered-send.ts): when
 * older writes of the visitor's attributes are on their way through them, it is queued after them,
 * in every mode. Whatever the delivery, an update a single update could not carry is refused first.
 * Resolves with how it went; throws a RelayError (503) when it had to be queued and the queue failed.
 */
export async function deliverUpdate(
  config: RelayConfig,
  update: RelayProfileUpdate,
  log: RequestLog,
): Promise<"direct" | "realtime" | "queued"> {
  const checked = toCheckedUpdate(update);
  const tooLarge = singleUpdateSizeIssue(checked);
  if (tooLarge !== undefined) throw new TargetValidationError([tooLarge]);
  const { queued } = config;
  if (queued === undefined) {
    await config.target.updateProfile(update);
    return "direct";
  }
  if (config.realtime !== undefined)
    return await deliverRealtime(config, queued, config.realtime, update, checked, log);

  const stamped = toQueuedUpdate(update, "single");
  const direct =
    config.delivery === "direct" ||
    (config.delivery === "auto" &&
      (await quotasOf(config.quotas, config.clientCode).takeSingleUpdates(1, config.singleUpdateLimit, Date.now())));
  if (!direct) return await enqueue(queued, stamped);
  try {
    const sent = await sendInOrder(queued.newestWrites, writesOf([stamped]), (signal) =>
      config.target.updateProfile(update, { signal }),
    );
    if (sent === "queue") return await enqueue(queued, stamped);
    // Sent; queued again only to be recorded as delivered (a repeat of the same values).
    if (sent === "unconfirmed") {
      const requeued = await enqueueUpdate(queued, stamped).then(
        () => true,
        () => false,
      );
      noteFailedStep(log, "confirm", requeued ? "requeued" : "lost");
    }
    return "direct";
  } catch (error) {
    // Until Target's quota frees up, auto queues every single-route write (and the queue sends batches).
    if (isTargetQuotaError(error)) await holdSingleUpdates(config, error.retryAfter);
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
