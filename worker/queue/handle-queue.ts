import { loadConfig } from "../config/load-config.js";
import { readMessage } from "../delivery/queue-messages.js";
import type { Env } from "../env.js";
import { deliverBundles } from "./deliver-bundles.js";
import { followUpBatch } from "./follow-up-batch.js";
import { gatherUpdates } from "./gather-updates.js";
import { keepDeadLetters, type DeadLetterBindings } from "./keep-dead-letters.js";
import { startQueueLog, writeQueueLog, type QueueLog } from "./queue-log.js";
import { retryDelaySeconds } from "./retry-delay.js";
import type { Received } from "./settle.js";

/** The relay's queues, as named in wrangler.toml: the consumer tells them apart by name. */
export const QUEUES = {
  updates: "target-profile-updates",
  deliveries: "target-profile-deliveries",
  deadLetters: "target-profile-dead-letters",
} as const;

/**
 * The Worker's `queue` handler: one batch of one queue in, every message settled explicitly, one
 * log line out.
 */
export async function handleQueue(batch: MessageBatch, env: Env): Promise<void> {
  const started = Date.now();
  const log = startQueueLog(batch.queue, batch.messages.length);
  try {
    const loaded = await loadConfig(env);
    const queued = loaded.ok ? loaded.config.queued : undefined;
    // Keeping dead letters needs only their stores: a configuration fault elsewhere must not
    // leave them to run out of retries.
    const keeping = batch.queue === QUEUES.deadLetters ? (queued ?? deadLetterBindings(env)) : undefined;
    if (keeping !== undefined) return await keepDeadLetters(readAll(batch, log), keeping, log);
    if (!loaded.ok || queued === undefined) {
      // Nothing can be delivered or stored: every message waits for a fixed configuration.
      for (const message of batch.messages) message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
      log.retried = batch.messages.length;
      log.error = "not_configured";
      log.problems = loaded.ok ? ["queue bindings are missing (see wrangler.toml)"] : loaded.problems;
      return;
    }
    const { config } = loaded;
    const received = readAll(batch, log);

    switch (batch.queue) {
      case QUEUES.updates:
        return await gatherUpdates(received, queued, log);
      case QUEUES.deliveries:
        // Follow-ups one by one (each is a status check); all bundles together in one delivery.
        for (const followUp of received.filter(({ body }) => body.type === "follow-up"))
          await followUpBatch(followUp, config, queued, log);
        return await deliverBundles(
          received.filter(({ body }) => body.type !== "follow-up"),
          config,
          queued,
          log,
        );
      default:
        for (const { message } of received) message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
        log.retried += received.length;
        log.error = "unknown_queue";
    }
  } finally {
    writeQueueLog(log, Date.now() - started);
  }
}

/**
 * The batch's messages with their bodies checked. A body that is not the relay's (a bug, or a
 * deploy that changed the format) is retried, never acked: it ends up in the dead-letter queues,
 * kept there for a look, rather than silently dropped.
 */
function readAll(batch: MessageBatch, log: QueueLog): Received[] {
  const received: Received[] = [];
  for (const message of batch.messages) {
    const body = readMessage(message.body);
    if (body !== undefined) {
      received.push({ message, body });
      continue;
    }
    message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
    log.retried++;
    log.invalid = (log.invalid ?? 0) + 1;
  }
  return received;
}

/** The stores the dead-letter consumer needs, straight from the bindings. */
function deadLetterBindings(env: Env): DeadLetterBindings | undefined {
  const { DEAD_LETTERS: deadLetters, BATCH_LEDGERS: ledgers, NEWEST_WRITES: newestWrites } = env;
  return deadLetters && ledgers && newestWrites ? { deadLetters, ledgers, newestWrites } : undefined;
}
