import type { QueuedDelivery } from "../config/relay-config.js";
import { subjectOf, type QueueMessage } from "../delivery/queue-messages.js";
import { sendMessages } from "../delivery/send-messages.js";
import { deadLetterStoreOf } from "../objects/dead-letter-store.js";
import type { QueueLog } from "./queue-log.js";
import { retryDelaySeconds } from "./retry-delay.js";

/** A message of the batch with its checked body. */
export interface Received {
  readonly message: Message<unknown>;
  readonly body: QueueMessage;
}

/** Done with: the queue forgets them. */
export function ackAll(received: readonly Received[], log: QueueLog): void {
  for (const { message } of received) message.ack();
  log.acked += received.length;
}

/** The longest delay Cloudflare Queues take (12 hours). */
export const MAX_QUEUE_DELAY_SECONDS = 12 * 60 * 60;

/** How long a parked message waits: about when the first follow-up of a batch reads its status. */
export const PARK_SECONDS = 60;

/**
 * Puts them back on the deliveries queue for later, as they are, and acks them: waiting for a slot among
 * the relay's unfinished batches (delivery/batch-slots.ts) is no failure, and must not use up their
 * retries however long Target takes to finish its batches. If the queue will not take them, they are
 * retried instead.
 */
export async function parkAll(
  received: readonly Received[],
  queued: Pick<QueuedDelivery, "deliveries" | "deadLetters">,
  log: QueueLog,
): Promise<void> {
  try {
    await sendMessages(
      queued.deliveries,
      received.map(({ body }) => body),
      { delaySeconds: PARK_SECONDS },
    );
  } catch {
    log.error = "queue_unavailable";
    return await retryAll(received, log.error, queued, log);
  }
  ackAll(received, log);
  log.parked = (log.parked ?? 0) + received.length;
}

/**
 * Tries them again later, with backoff on their attempts (retry-delay.ts). One jitter draw for the
 * whole call, so messages that failed together (with as many attempts) come back together, and cost
 * one bulk call again rather than one each; the jitter spreads apart only separate failures. The
 * reason is noted first (messages are immutable, so it waits in the dead-letter store, for the
 * dead-letter consumer should these be the last attempts). Noting is best effort: a retry must not
 * wait on it.
 */
export async function retryAll(
  received: readonly Received[],
  reason: string,
  queued: Pick<QueuedDelivery, "deadLetters">,
  log: QueueLog,
  atLeastSeconds = 0,
): Promise<void> {
  if (received.length === 0) return;
  try {
    await deadLetterStoreOf(queued.deadLetters).noteFailures(
      received.map(({ body }) => subjectOf(body)),
      reason,
      Date.now(),
    );
  } catch {
    // The dead-letter consumer then records "unknown" as the reason.
  }
  const jitter = Math.random();
  for (const { message } of received)
    message.retry({
      delaySeconds: Math.min(
        MAX_QUEUE_DELAY_SECONDS,
        Math.max(
          atLeastSeconds,
          retryDelaySeconds(message.attempts, () => jitter),
        ),
      ),
    });
  log.retried += received.length;
}
