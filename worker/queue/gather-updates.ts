import type { QueuedDelivery } from "../config/relay-config.js";
import { packBundles } from "../delivery/bundles.js";
import { updatesOf } from "../delivery/queue-messages.js";
import { sendMessages } from "../delivery/send-messages.js";
import type { QueueLog } from "./queue-log.js";
import { ackAll, retryAll, type Received } from "./settle.js";

/**
 * The updates queue's consumer: packs up to 100 single updates into bundles on the deliveries
 * queue, where up to 100 bundles make one bulk call. Acks once the bundles are durably queued —
 * every update is always held by one queue or another until Target accepted it — and retries
 * them all (with backoff) otherwise.
 *
 * This first hop is what lets a bulk call carry thousands of updates: a queue hands a consumer at
 * most 100 messages, so one hop alone would make at least one bulk call per 100 updates, and
 * Target allows 50 bulk calls a minute.
 */
export async function gatherUpdates(
  received: readonly Received[],
  queued: QueuedDelivery,
  log: QueueLog,
): Promise<void> {
  const updates = [];
  for (const { body } of received) {
    const { updates: valid, invalid } = updatesOf(body);
    updates.push(...valid);
    if (invalid > 0) log.invalid = (log.invalid ?? 0) + invalid;
  }
  log.updates = updates.length;
  try {
    const bundles = packBundles(updates);
    await sendMessages(queued.deliveries, bundles);
    log.bundles = bundles.length;
    ackAll(received, log);
  } catch {
    log.error = "queue_unavailable";
    await retryAll(received, log.error, queued, log);
  }
}
