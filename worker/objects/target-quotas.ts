import { DurableObject } from "cloudflare:workers";
import { BATCH_STATUS_RETENTION_MS, BULK_CALL_WINDOW_MS } from "../../src/index.js";

const HOUR_MS = 60 * 60 * 1000;
// Target counts single updates over a rolling 24 hours (SINGLE_UPDATES_PER_DAY).
const DAY_HOURS = 24;

/** The daily counts, each in a table of hourly buckets. */
type DailyCount = "single_updates" | "realtime_calls";

/**
 * Target's limits for one account, and the relay's cap of billed calls, shared by every isolate of the
 * relay (one object per client code; calls to it are serialised, so taking a slot is atomic):
 *  - single updates: 1 million in any rolling 24 hours, counted in hourly buckets. The window is
 *    the current hour and the 23 before it, so it may count up to an hour too much, never too little.
 *  - bulk calls (batch submissions and status checks): 50 in any rolling minute, by call time. Every
 *    bulk call the relay makes takes a slot here (delivery/bulk-budget.ts); the status reads of
 *    GET /v1/batches/{id} only within their share.
 *  - batch statuses: only the last 10 are kept, so at most 10 of the relay's batches are unfinished.
 *  - realtime calls: the billed Delivery API calls (mboxes) RELAY_REALTIME_CALLS_PER_DAY allows in
 *    any rolling 24 hours, counted like single updates.
 * Callers pass the time (`now`), which keeps the clock where tests can move it.
 */
export class TargetQuotas extends DurableObject {
  readonly #sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Cloudflare.Env) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    this.#sql.exec(`CREATE TABLE IF NOT EXISTS single_updates (hour INTEGER PRIMARY KEY, count INTEGER NOT NULL)`);
    this.#sql.exec(`CREATE TABLE IF NOT EXISTS bulk_calls (at INTEGER NOT NULL)`);
    // Status reads (GET /v1/batches/{id}) are counted apart too: they may use only a share.
    const columns = this.#sql.exec<{ name: string }>("SELECT name FROM pragma_table_info('bulk_calls')").toArray();
    if (!columns.some(({ name }) => name === "status_read")) {
      this.#sql.exec("ALTER TABLE bulk_calls ADD COLUMN status_read INTEGER NOT NULL DEFAULT 0");
    }
    this.#sql.exec(`CREATE TABLE IF NOT EXISTS holds (kind TEXT PRIMARY KEY, until INTEGER NOT NULL)`);
    this.#sql.exec(
      `CREATE TABLE IF NOT EXISTS batch_submissions (
         seq INTEGER PRIMARY KEY AUTOINCREMENT, slot TEXT NOT NULL UNIQUE, at INTEGER NOT NULL, unread INTEGER NOT NULL)`,
    );
    this.#sql.exec(`CREATE TABLE IF NOT EXISTS realtime_calls (hour INTEGER PRIMARY KEY, count INTEGER NOT NULL)`);
  }

  /**
   * How many more batches the relay may submit now. Target keeps only the last `limit` batch statuses of an
   * account (KEPT_BATCH_STATUSES): a batch whose status the relay has not read yet must stay among them, so
   * from the oldest unread one on, at most `limit` submissions (its own included, and those that may have
   * reached Target without the relay learning their batch id) may be made.
   */
  freeBatchSlots(limit: number, now: number): number {
    return limit - this.#submissionsSinceOldestUnread(now);
  }

  /** Takes a slot for a batch about to be submitted: false (nothing taken) when none is free. */
  openBatch(slot: string, limit: number, now: number): boolean {
    if (this.freeBatchSlots(limit, now) <= 0) return false;
    this.#sql.exec("INSERT INTO batch_submissions (slot, at, unread) VALUES (?, ?, 1)", slot, now);
    return true;
  }

  /**
   * Settles a slot: `read` (the batch's status was read, or it may have reached Target unseen: it still
   * counts among the statuses Target keeps), or `dropped` (it never reached Target).
   */
  closeBatch(slot: string, how: "read" | "dropped"): void {
    if (how === "dropped") this.#sql.exec("DELETE FROM batch_submissions WHERE slot = ?", slot);
    else this.#sql.exec("UPDATE batch_submissions SET unread = 0 WHERE slot = ?", slot);
  }

  #submissionsSinceOldestUnread(now: number): number {
    // Target keeps no status longer than a day; and submissions before the oldest unread one do not matter.
    this.#sql.exec("DELETE FROM batch_submissions WHERE at <= ?", now - BATCH_STATUS_RETENTION_MS);
    const { oldest } = this.#sql
      .exec<{ oldest: number | null }>("SELECT MIN(seq) AS oldest FROM batch_submissions WHERE unread = 1")
      .one();
    if (oldest === null) {
      this.#sql.exec("DELETE FROM batch_submissions");
      return 0;
    }
    this.#sql.exec("DELETE FROM batch_submissions WHERE seq < ?", oldest);
    return this.#sql.exec<{ count: number }>("SELECT COUNT(*) AS count FROM batch_submissions").one().count;
  }

  /** Single updates in the rolling 24 hours. */
  singleUpdates(now: number): number {
    return this.#counted("single_updates", now);
  }

  /**
   * Target answered that its single-update quota is used up (TargetQuotaError): no single update is taken
   * before `until`, whatever the relay's own count says (Target's counts other senders too).
   */
  holdSingleUpdates(until: number): void {
    this.#sql.exec(
      "INSERT INTO holds (kind, until) VALUES ('single_updates', ?) ON CONFLICT (kind) DO UPDATE SET until = MAX(until, excluded.until)",
      until,
    );
  }

  /** Takes `count` single updates when the rolling count stays within `limit`; false (and nothing taken) otherwise. */
  takeSingleUpdates(count: number, limit: number, now: number): boolean {
    const held = this.#sql
      .exec<{ until: number }>("SELECT until FROM holds WHERE kind = 'single_updates'")
      .toArray()[0];
    if (held !== undefined && now < held.until) return false;
    return this.#take("single_updates", count, limit, now);
  }

  /** Billed Delivery API calls in the rolling 24 hours. */
  realtimeCalls(now: number): number {
    return this.#counted("realtime_calls", now);
  }

  /** Takes `count` billed Delivery API calls when the rolling count stays within `limit`; false (and nothing taken) otherwise. */
  takeRealtimeCalls(count: number, limit: number, now: number): boolean {
    return this.#take("realtime_calls", count, limit, now);
  }

  /**
   * Takes a bulk call slot: 0 when taken, otherwise the milliseconds until one frees up (nothing taken).
   * Every bulk call counts against `limit`; a status read (`statusReads` set) also against `statusReads`,
   * its bounded share, so that reads can never take the slots writes need.
   */
  takeBulkCall(limit: number, now: number, statusReads?: number): number {
    this.#sql.exec("DELETE FROM bulk_calls WHERE at <= ?", now - BULK_CALL_WINDOW_MS);
    const { count, oldest, reads, oldestRead } = this.#sql
      .exec<{ count: number; oldest: number | null; reads: number | null; oldestRead: number | null }>(
        `SELECT COUNT(*) AS count, MIN(at) AS oldest, SUM(status_read) AS reads,
                MIN(CASE WHEN status_read = 1 THEN at END) AS oldestRead FROM bulk_calls`,
      )
      .one();
    const freedAt = (at: number | null) => Math.max(1, (at ?? now) + BULK_CALL_WINDOW_MS - now);
    if (count >= limit) return freedAt(oldest);
    if (statusReads !== undefined && (reads ?? 0) >= statusReads) return freedAt(oldestRead);
    this.#sql.exec("INSERT INTO bulk_calls (at, status_read) VALUES (?, ?)", now, statusReads === undefined ? 0 : 1);
    return 0;
  }

  #counted(table: DailyCount, now: number): number {
    const hour = Math.floor(now / HOUR_MS);
    this.#sql.exec(`DELETE FROM ${table} WHERE hour <= ?`, hour - DAY_HOURS);
    return this.#sql.exec<{ total: number | null }>(`SELECT SUM(count) AS total FROM ${table}`).one().total ?? 0;
  }

  #take(table: DailyCount, count: number, limit: number, now: number): boolean {
    if (this.#counted(table, now) + count > limit) return false;
    this.#sql.exec(
      `INSERT INTO ${table} (hour, count) VALUES (?, ?) ON CONFLICT (hour) DO UPDATE SET count = count + excluded.count`,
      Math.floor(now / HOUR_MS),
      count,
    );
    return true;
  }
}

/** The quotas of one Target account. */
export const quotasOf = (namespace: DurableObjectNamespace<TargetQuotas>, clientCode: string) =>
  namespace.getByName(clientCode);

/** No single update until Target's quota frees up, `retryAfter` seconds from now (best effort). */
export async function holdSingleUpdates(
  config: { readonly quotas: DurableObjectNamespace<TargetQuotas>; readonly clientCode: string },
  retryAfter: number,
): Promise<void> {
  await quotasOf(config.quotas, config.clientCode)
    .holdSingleUpdates(Date.now() + retryAfter * 1000)
    .catch(() => {});
}
