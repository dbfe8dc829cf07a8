import type { QueuedDelivery } from "../config/relay-config.js";
import { subjectOf, type QueueMessage } from "../delivery/queue-messages.js";
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
    message.retry({ delaySeconds: retryDelaySeconds(message.attempts, () => jitter) });
  log.retried += received.length;
}
