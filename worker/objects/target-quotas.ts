import { DurableObject } from "cloudflare:workers";
import { BULK_CALL_WINDOW_MS } from "../../src/index.js";

const HOUR_MS = 60 * 60 * 1000;
// Target counts single updates over a rolling 24 hours (SINGLE_UPDATES_PER_DAY).
const DAY_HOURS = 24;

/** The daily counts, each in a table of hourly buckets. */
type DailyCount = "single_updates" | "realtime_calls";

/**
 * Target's rate limits for one account, and the relay's cap of billed calls, shared by every isolate
 * of the relay (one object per client code; calls to it are serialised, so taking a slot is atomic):
 *  - single updates: 1 million in any rolling 24 hours, counted in hourly buckets. The window is
 *    the current hour and the 23 before it, so it may count up to an hour too much, never too little.
 *  - bulk calls (batch submissions and status checks): 50 in any rolling minute, by call time.
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
    this.#sql.exec(`CREATE TABLE IF NOT EXISTS realtime_calls (hour INTEGER PRIMARY KEY, count INTEGER NOT NULL)`);
  }

  /** Single updates in the rolling 24 hours. */
  singleUpdates(now: number): number {
    return this.#counted("single_updates", now);
  }

  /** Takes `count` single updates when the rolling count stays within `limit`; false (and nothing taken) otherwise. */
  takeSingleUpdates(count: number, limit: number, now: number): boolean {
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

  /** Takes a bulk call slot: 0 when taken, otherwise the milliseconds until one frees up (nothing taken). */
  takeBulkCall(limit: number, now: number): number {
    this.#sql.exec("DELETE FROM bulk_calls WHERE at <= ?", now - BULK_CALL_WINDOW_MS);
    const { count, oldest } = this.#sql
      .exec<{ count: number; oldest: number | null }>("SELECT COUNT(*) AS count, MIN(at) AS oldest FROM bulk_calls")
      .one();
    if (count >= limit) return Math.max(1, (oldest ?? now) + BULK_CALL_WINDOW_MS - now);
    this.#sql.exec("INSERT INTO bulk_calls (at) VALUES (?)", now);
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
