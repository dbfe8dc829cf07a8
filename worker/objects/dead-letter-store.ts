import { DurableObject } from "cloudflare:workers";
import type { QueuedUpdate } from "../delivery/queue-messages.js";

/** Failure notes older than the longest a queue keeps a message (14 days) are swept. */
const NOTE_RETENTION_MS = 15 * 24 * 60 * 60 * 1000;

export interface DeadLetterReasonCount {
  readonly reason: string;
  readonly count: number;
  /** The oldest arrival among them (Unix ms): how stale a replay would be. */
  readonly oldestReceivedAt: number;
  /** When the last of them was dead-lettered (Unix ms). */
  readonly lastDeadAt: number;
}

export interface DeadLetterSummary {
  readonly total: number;
  readonly reasons: readonly DeadLetterReasonCount[];
}

/**
 * Updates the relay gave up on, kept until they are replayed, and why (a reason code such as
 * `TargetHttpError 503`, never Target's own message, which may echo data). One object for the
 * relay: dead letters are rare, and one place makes them easy to count and replay.
 *
 * It also keeps the last failure reason of each queue message, noted before the message is
 * retried: messages are immutable, so this is where the reason waits for the dead-letter consumer.
 */
export class DeadLetterStore extends DurableObject {
  readonly #sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Cloudflare.Env) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    this.#sql.exec(
      `CREATE TABLE IF NOT EXISTS dead_letters (
         update_id TEXT PRIMARY KEY, received_at INTEGER NOT NULL, body TEXT NOT NULL,
         reason TEXT NOT NULL, dead_at INTEGER NOT NULL)`,
    );
    this.#sql.exec("CREATE INDEX IF NOT EXISTS dead_letters_by_reason ON dead_letters (reason, received_at)");
    this.#sql.exec(
      `CREATE TABLE IF NOT EXISTS failure_notes (subject TEXT PRIMARY KEY, reason TEXT NOT NULL, noted_at INTEGER NOT NULL)`,
    );
    this.#sql.exec("CREATE INDEX IF NOT EXISTS failure_notes_by_age ON failure_notes (noted_at)");
  }

  /** Notes why these messages failed (the last reason wins). */
  noteFailures(subjects: readonly string[], reason: string, now: number): void {
    this.ctx.storage.transactionSync(() => {
      // Notes of messages long settled (or long gone from their queue) go as new ones come.
      this.#sql.exec("DELETE FROM failure_notes WHERE noted_at <= ?", now - NOTE_RETENTION_MS);
      for (const subject of subjects) {
        this.#sql.exec(
          "INSERT OR REPLACE INTO failure_notes (subject, reason, noted_at) VALUES (?, ?, ?)",
          subject,
          reason,
          now,
        );
      }
    });
  }

  /** The noted reason of each subject that has one. */
  failureReasons(subjects: readonly string[]): Record<string, string> {
    const reasons: Record<string, string> = {};
    for (const subject of subjects) {
      const row = this.#sql
        .exec<{ reason: string }>("SELECT reason FROM failure_notes WHERE subject = ?", subject)
        .toArray()[0];
      if (row !== undefined) reasons[subject] = row.reason;
    }
    return reasons;
  }

  /**
   * Keeps updates with their reason, then forgets the subjects' notes. Parts of one update kept at
   * different times are merged (JSON merge patch): both carry the same values.
   */
  keep(
    entries: readonly { readonly update: QueuedUpdate; readonly reason: string }[],
    now: number,
    settledSubjects: readonly string[] = [],
  ): void {
    this.ctx.storage.transactionSync(() => {
      for (const { update, reason } of entries) {
        this.#sql.exec(
          `INSERT INTO dead_letters (update_id, received_at, body, reason, dead_at) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (update_id) DO UPDATE SET body = json_patch(body, excluded.body), reason = excluded.reason, dead_at = excluded.dead_at`,
          update.id,
          update.receivedAt,
          JSON.stringify(update),
          reason,
          now,
        );
      }
      for (const subject of settledSubjects) this.#sql.exec("DELETE FROM failure_notes WHERE subject = ?", subject);
    });
  }

  /** Counts by reason: no ids, no values. */
  summary(): DeadLetterSummary {
    const reasons = this.#sql
      .exec<{ reason: string; count: number; oldestReceivedAt: number; lastDeadAt: number }>(
        `SELECT reason, COUNT(*) AS count, MIN(received_at) AS oldestReceivedAt, MAX(dead_at) AS lastDeadAt
           FROM dead_letters GROUP BY reason ORDER BY count DESC, reason`,
      )
      .toArray();
    return { total: reasons.reduce((sum, { count }) => sum + count, 0), reasons };
  }

  /** Up to `limit` dead letters, oldest arrival first, optionally of one reason. They stay until `remove`d. */
  peek(limit: number, reason?: string): QueuedUpdate[] {
    const rows =
      reason === undefined
        ? this.#sql.exec<{ body: string }>("SELECT body FROM dead_letters ORDER BY received_at LIMIT ?", limit)
        : this.#sql.exec<{ body: string }>(
            "SELECT body FROM dead_letters WHERE reason = ? ORDER BY received_at LIMIT ?",
            reason,
            limit,
          );
    return rows.toArray().map(({ body }) => JSON.parse(body) as QueuedUpdate);
  }

  /** Forgets dead letters (once they are queued again). */
  remove(ids: readonly string[]): void {
    this.ctx.storage.transactionSync(() => {
      for (const id of ids) this.#sql.exec("DELETE FROM dead_letters WHERE update_id = ?", id);
    });
  }
}

/** The relay's one dead-letter store. */
export const deadLetterStoreOf = (namespace: DurableObjectNamespace<DeadLetterStore>) =>
  namespace.getByName("dead-letters");
