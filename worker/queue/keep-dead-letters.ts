import type { QueuedDelivery } from "../config/relay-config.js";
import { subjectOf, updatesOf, type QueuedUpdate } from "../delivery/queue-messages.js";
import { writesOf } from "../delivery/writes.js";
import { ledgerOf } from "../objects/batch-ledger.js";
import { deadLetterStoreOf } from "../objects/dead-letter-store.js";
import { retractWrites } from "../objects/newest-writes-client.js";
import type { QueueLog } from "./queue-log.js";
import { ackAll, retryAll, type Received } from "./settle.js";

/** What keeping dead letters takes: it works even when the rest of the configuration does not. */
export type DeadLetterBindings = Pick<QueuedDelivery, "deadLetters" | "ledgers" | "newestWrites">;

/** The reason of a message that failed without one noted (its consumer died mid-way). */
export const UNKNOWN_REASON = "unknown";

/**
 * The dead-letter queue's consumer: keeps every update of the messages the other two queues gave
 * up on in the dead-letter store, with the last failure reason noted for each message, until an
 * admin replays them (POST /v1/dead-letters/replay). A follow-up that gave up brings its batch's
 * ledgered updates. Acks only once they are stored; retries otherwise.
 */
export async function keepDeadLetters(
  received: readonly Received[],
  queued: DeadLetterBindings,
  log: QueueLog,
): Promise<void> {
  const store = deadLetterStoreOf(queued.deadLetters);
  try {
    const subjects = received.map(({ body }) => subjectOf(body));
    const reasons = await store.failureReasons(subjects);
    const entries: { update: QueuedUpdate; reason: string }[] = [];
    const ledgers = [];
    for (const [index, { body }] of received.entries()) {
      const reason = reasons[subjects[index] as string] ?? UNKNOWN_REASON;
      let updates: QueuedUpdate[];
      if (body.type === "follow-up") {
        const ledger = ledgerOf(queued.ledgers, body.batchId);
        updates = await ledger.read();
        ledgers.push(ledger);
        // Confirmed when submitted, but never known to have landed: a replay must send them again.
        await retractWrites(queued.newestWrites, writesOf(updates));
      } else {
        const { updates: valid, invalid } = updatesOf(body);
        if (invalid > 0) log.invalid = (log.invalid ?? 0) + invalid;
        updates = valid;
      }
      for (const update of updates) entries.push({ update, reason });
    }
    await store.keep(entries, Date.now(), subjects);
    for (const ledger of ledgers) await ledger.forget();
    log.deadLettered = entries.length;
    ackAll(received, log);
  } catch {
    log.error = "dead_letter_store_unavailable";
    await retryAll(received, log.error, queued, log);
  }
}
