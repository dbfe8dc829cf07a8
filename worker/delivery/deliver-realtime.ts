import type { RelayProfileUpdate } from "../../src/index.js";
import { deliveryCallCount, deliveryIssues, type CheckedUpdate } from "../../src/internal/index.js";
import type { QueuedDelivery, RealtimeDelivery, RelayConfig } from "../config/relay-config.js";
import type { RequestLog } from "../http/request-log.js";
import { quotasOf } from "../objects/target-quotas.js";
import type { RealtimeFallback } from "./delivery-mode.js";
import { enqueueUpdate, queueUnavailable, toQueuedUpdate } from "./enqueue.js";
import { describeUpstreamFailure } from "./failure-reason.js";
import { sendInOrder } from "./ordered-send.js";
import { writesOf } from "./writes.js";

/** The cap was reached: this write goes to the queues. */
class RealtimeCapReached extends Error {
  override name = "RealtimeCapReached";
}

/**
 * Sends one single-route update (already checked) through the Delivery API (RELAY_DELIVERY =
 * "realtime"): visible at once, the profile created when Target has none. It goes in order with
 * the queues, as a direct send does (ordered-send.ts), and within RELAY_REALTIME_CALLS_PER_DAY
 * billed calls (one per mbox of 50 attributes), counted across isolates by the account's
 * TargetQuotas object and taken only for calls made. The visitor's session lives in the
 * RealtimeSessions objects (the Target client's session store), shared by every isolate.
 *
 * Whatever cannot go in real time (see RealtimeFallback) goes to the queues instead, as a batch-route
 * write: Target then gets it in a v2 batch, which creates the profile too, so the write's promise is
 * the same whichever path takes it (docs/relay.md, "Whether a write creates a profile"). Resolves with
 * the path taken; throws a RelayError (503) when it had to be queued and the queue failed.
 */
export async function deliverRealtime(
  config: RelayConfig,
  queued: QueuedDelivery,
  realtime: RealtimeDelivery,
  update: RelayProfileUpdate,
  checked: CheckedUpdate,
  log: RequestLog,
): Promise<"realtime" | "queued"> {
  const stamped = toQueuedUpdate(update, "batch");
  const fallBack = async (reason: RealtimeFallback) => {
    log.fallback = reason;
    try {
      await enqueueUpdate(queued, stamped);
    } catch {
      throw queueUnavailable();
    }
    return "queued" as const;
  };
  if (deliveryIssues(checked).length > 0) return fallBack("unfit");

  const calls = deliveryCallCount(checked);
  const send = async (signal: AbortSignal) => {
    const quotas = quotasOf(config.quotas, config.clientCode);
    if (!(await quotas.takeRealtimeCalls(calls, realtime.callsPerDay, Date.now()))) throw new RealtimeCapReached();
    await config.target.updateProfileRealtime(update, { signal });
  };
  try {
    const sent = await sendInOrder(queued.newestWrites, writesOf([stamped]), send);
    if (sent === "queue") return await fallBack("ordered");
    // Sent; queued again only to be recorded as delivered (a repeat of the same values).
    if (sent === "unconfirmed") await enqueueUpdate(queued, stamped).catch(() => {});
    return "realtime";
  } catch (error) {
    if (error instanceof RealtimeCapReached) return await fallBack("cap");
    const upstream = describeUpstreamFailure(error);
    if (upstream !== undefined) log.upstream = upstream;
    return await fallBack("failed");
  }
}
