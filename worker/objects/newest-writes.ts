import { DurableObject } from "cloudflare:workers";
import { compareVersions } from "../delivery/writes.js";

/**
 * Where the creation of a visitor's profile stands, as far as the relay made it (docs/relay.md, "Whether a
 * write creates a profile", and "Consecutive v2 batches"):
 *  - `promised`: a write that creates it (a batch-route write) is on its way through the queues;
 *  - `sent`: it went out in a v2 file Target accepted, whose outcome is not known yet;
 *  - `created`: that v2 file is complete: the profile exists. Kept, like versions: the visitor never needs
 *    a v2 file from the relay again, so the relay never sends it two (the strict reading of consecutive v2
 *    batches would have the later one take back what the earlier one set).
 */
export type CreationState = "promised" | "sent" | "created";

/** How long a creation stays `promised` or `sent` without news: past the queues' retries and follow-ups. */
export const CREATION_PENDING_MS = 2 * 24 * 60 * 60 * 1000;

/**
 * What becomes of a write, against the versions on record for its visitor's attribute:
 *  - `send`: it is the newest admitted (or equal to it: a retry of the same write), and now on record.
 *  - `delivered`: Target already accepted it or a newer write: nothing to send, nothing lost.
 *  - `wait`: a newer write was admitted but Target has not accepted it yet. Sending this one could
 *    overwrite it; dropping it would lose it should the newer one never get through. It is tried
 *    again later, and is `delivered` once the newer one is. Also the answer for a newer write while
 *    an older one is being sent directly (its lease, see `admitDirect`): sent now, it could be
 *    overtaken by the older one; once that one is confirmed, released or its lease is over, it goes.
 */
export type Admission = "send" | "delivered" | "wait";

/**
 * The newest versions — `(receivedAt, id)`, never a value — admitted for, and delivered to, each
 * visitor's attribute. Queues redeliver and do not keep order, so every write is admitted here
 * before it is sent (see Admission), and confirmed once Target accepted it.
 *
 * Why a Durable Object: the check-and-record must be atomic and strongly consistent across every
 * isolate. KV is eventually consistent (two deliveries could both see an old version); D1 would
 * work but adds a database to run; a Durable Object serialises the calls on each shard by itself,
 * and keeps its rows in SQLite next to the code. Visitors are spread over SHARDS objects (newest-writes-client.ts) by a hash
 * of their id, so no single object carries all the traffic.
 *
 * Versions are kept as long as the relay runs: a dead letter replayed weeks later must still lose
 * to what was written since. A row is a visitor id, an attribute name and two versions (~150 bytes).
 */
export class NewestWrites extends DurableObject {
  readonly #sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Cloudflare.Env) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    this.#sql.exec(
      `CREATE TABLE IF NOT EXISTS newest (
         visitor TEXT NOT NULL, attribute TEXT NOT NULL,
         admitted_at INTEGER NOT NULL, admitted_id TEXT NOT NULL, delivered_at INTEGER, delivered_id TEXT,
         direct_until INTEGER,
         PRIMARY KEY (visitor, attribute)) WITHOUT ROWID`,
    );
    this.#sql.exec(
      `CREATE TABLE IF NOT EXISTS creation_states (
         visitor TEXT PRIMARY KEY, state TEXT NOT NULL, since INTEGER NOT NULL) WITHOUT ROWID`,
    );
    this.#sql.exec("CREATE INDEX IF NOT EXISTS creation_states_by_age ON creation_states (since)");
    // The `promised` creations that only a direct batch's claim made (claimCreations), so that releasing the
    // claim never takes back a promise a queued write made for the same visitor meanwhile (expectCreations).
    this.#sql.exec("CREATE TABLE IF NOT EXISTS creation_claims (visitor TEXT PRIMARY KEY) WITHOUT ROWID");
  }

  /**
   * Notes that writes creating these visitors' profiles are on their way through the queues (`promised`),
   * unless a v2 file carried them already (`sent`, `created`). Until that file is sent, the visitor's
   * writes create too, whatever reaches Target first; until it is complete, none goes out at once.
   */
  expectCreations(visitors: readonly string[], now: number): void {
    this.ctx.storage.transactionSync(() => {
      for (const visitor of visitors) {
        this.#promise(visitor, now);
        // A promise a direct batch had claimed is now the queue's too: releasing the claim must leave it.
        this.#sql.exec("DELETE FROM creation_claims WHERE visitor = ?", visitor);
      }
    });
  }

  /**
   * For a batch sent at once in a v2 file: when none of these visitors has a creation state, notes them all
   * as `promised` and answers true, atomically (two requests racing for a visitor cannot both send it in a
   * v2 file); otherwise changes nothing and answers false.
   */
  claimCreations(visitors: readonly string[], now: number): boolean {
    return this.ctx.storage.transactionSync(() => {
      this.#forgetStaleCreations(now);
      if (visitors.some((visitor) => this.#creationState(visitor) !== null)) return false;
      for (const visitor of visitors) {
        this.#promise(visitor, now);
        this.#sql.exec("INSERT OR IGNORE INTO creation_claims (visitor) VALUES (?)", visitor);
      }
      return true;
    });
  }

  /**
   * Takes back a claim (`claimCreations`) whose batch was not sent after all: the `promised` creations only
   * the claim made. One a queued write promised since (`expectCreations`) stays: that write still creates.
   */
  releaseCreations(visitors: readonly string[]): void {
    this.ctx.storage.transactionSync(() => {
      for (const visitor of visitors) {
        this.#sql.exec(
          `DELETE FROM creation_states
             WHERE visitor = ? AND state = 'promised' AND visitor IN (SELECT visitor FROM creation_claims)`,
          visitor,
        );
        this.#sql.exec("DELETE FROM creation_claims WHERE visitor = ?", visitor);
      }
    });
  }

  /** Each visitor's creation state (`null`: the relay never promised, sent or saw its creation). */
  creationStates(visitors: readonly string[], now: number): (CreationState | null)[] {
    this.#forgetStaleCreations(now);
    return visitors.map((visitor) => this.#creationState(visitor));
  }

  /**
   * Records what became of these visitors' creation: `sent` (in a v2 file Target accepted; a `created` one
   * stays so), `created` (that file is complete), or `promised` again (its row failed: it is sent again).
   */
  recordCreations(visitors: readonly string[], state: CreationState, now: number): void {
    const keep = state === "sent" ? "WHERE state <> 'created'" : state === "promised" ? "WHERE state = 'sent'" : "";
    this.ctx.storage.transactionSync(() => {
      for (const visitor of visitors) {
        this.#sql.exec(
          `INSERT INTO creation_states (visitor, state, since) VALUES (?, ?, ?)
             ON CONFLICT (visitor) DO UPDATE SET state = excluded.state, since = excluded.since ${keep}`,
          visitor,
          state,
          now,
        );
        // Whatever became of a claim, it is settled: there is nothing left to release.
        this.#sql.exec("DELETE FROM creation_claims WHERE visitor = ?", visitor);
      }
    });
  }

  // A creation promised or sent but never heard of again (a lost follow-up) stops holding the visitor's writes.
  #forgetStaleCreations(now: number): void {
    this.#sql.exec("DELETE FROM creation_states WHERE state <> 'created' AND since <= ?", now - CREATION_PENDING_MS);
    // Claims of requests that died before releasing or recording them (few: only batches in flight are claimed).
    this.#sql.exec("DELETE FROM creation_claims WHERE visitor NOT IN (SELECT visitor FROM creation_states)");
  }

  /** `visitor`'s creation `promised` (again, from `now`), unless it is sent or created already. */
  #promise(visitor: string, now: number): void {
    this.#sql.exec(
      `INSERT INTO creation_states (visitor, state, since) VALUES (?, 'promised', ?)
         ON CONFLICT (visitor) DO UPDATE SET since = excluded.since WHERE state = 'promised'`,
      visitor,
      now,
    );
  }

  #creationState(visitor: string): CreationState | null {
    const row = this.#sql
      .exec<{ state: CreationState }>("SELECT state FROM creation_states WHERE visitor = ?", visitor)
      .toArray()[0];
    return row?.state ?? null;
  }

  /** Each version's admission, in order; `send` ones become the admitted version on record. */
  admit(versions: readonly Version[], now: number): Admission[] {
    return this.ctx.storage.transactionSync(() =>
      versions.map((version) => {
        const held = this.#current(version, now);
        if (held === undefined) {
          this.#sql.exec(
            "INSERT INTO newest (visitor, attribute, admitted_at, admitted_id) VALUES (?, ?, ?, ?)",
            version.visitor,
            version.attribute,
            version.receivedAt,
            version.id,
          );
          return "send";
        }
        if (
          held.deliveredAt !== null &&
          compareVersions(version, { receivedAt: held.deliveredAt, id: held.deliveredId as string }) <= 0
        )
          return "delivered";
        const order = compareVersions(version, { receivedAt: held.admittedAt, id: held.admittedId });
        if (order < 0) return "wait";
        if (order > 0 && held.directUntil !== null) return "wait";
        if (order > 0) {
          this.#sql.exec(
            "UPDATE newest SET admitted_at = ?, admitted_id = ?, direct_until = NULL WHERE visitor = ? AND attribute = ?",
            version.receivedAt,
            version.id,
            version.visitor,
            version.attribute,
          );
        }
        return "send";
      }),
    );
  }

  /**
   * Admits a direct send (a route sending to Target at once, not through the queues): all of the
   * versions or none. Only when nothing older is on its way for those attributes (every admitted
   * version delivered): otherwise the queue must carry this one after it. Admitted, each holds a
   * lease until `leaseUntil`, the latest the direct call can still reach Target: until then, newer
   * writes wait for it (`admit`). Then `confirm` or `release` it. A send that creates no profile (a
   * single update) is not admitted either while its visitor's creation is `promised` or `sent`: it could
   * reach Target before the profile exists (a single update is applied within a minute, a batch within
   * the hour), so it goes through the queues, in a file that Target applies after the creating one.
   */
  admitDirect(versions: readonly Version[], leaseUntil: number, now: number, creates = false): boolean {
    return this.ctx.storage.transactionSync(() => {
      if (!creates) {
        this.#forgetStaleCreations(now);
        const pending = (visitor: string) => ["promised", "sent"].includes(this.#creationState(visitor) ?? "");
        if (versions.some(({ visitor }) => pending(visitor))) return false;
      }
      const clear = versions.every((version) => {
        const held = this.#current(version, now);
        if (held === undefined) return true;
        const idle = held.deliveredAt === held.admittedAt && held.deliveredId === held.admittedId;
        return idle && compareVersions(version, { receivedAt: held.admittedAt, id: held.admittedId }) > 0;
      });
      if (!clear) return false;
      for (const version of versions) {
        this.#sql.exec(
          `INSERT INTO newest (visitor, attribute, admitted_at, admitted_id, direct_until) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (visitor, attribute) DO UPDATE SET admitted_at = excluded.admitted_at, admitted_id = excluded.admitted_id, direct_until = excluded.direct_until`,
          version.visitor,
          version.attribute,
          version.receivedAt,
          version.id,
          leaseUntil,
        );
      }
      return true;
    });
  }

  /**
   * Takes back direct admissions whose send failed (the caller was told so): the admitted version
   * goes back to the delivered one, as before `admitDirect`. A newer admission since stays.
   */
  release(versions: readonly Version[]): void {
    this.ctx.storage.transactionSync(() => {
      for (const { visitor, attribute, receivedAt, id } of versions) {
        const where = "WHERE visitor = ? AND attribute = ? AND admitted_at = ? AND admitted_id = ?";
        this.#sql.exec(`DELETE FROM newest ${where} AND delivered_at IS NULL`, visitor, attribute, receivedAt, id);
        this.#sql.exec(
          `UPDATE newest SET admitted_at = delivered_at, admitted_id = delivered_id, direct_until = NULL ${where}`,
          visitor,
          attribute,
          receivedAt,
          id,
        );
      }
    });
  }

  /** Records versions Target accepted (a newer one on record stays). */
  confirm(versions: readonly Version[]): void {
    this.ctx.storage.transactionSync(() => {
      for (const version of versions) {
        const held = this.#held(version);
        if (held === undefined) continue;
        if (
          held.deliveredAt !== null &&
          compareVersions(version, { receivedAt: held.deliveredAt, id: held.deliveredId as string }) <= 0
        )
          continue;
        // A confirmed direct send gives its lease up.
        this.#sql.exec(
          `UPDATE newest SET delivered_at = ?1, delivered_id = ?2,
             direct_until = CASE WHEN admitted_at = ?1 AND admitted_id = ?2 THEN NULL ELSE direct_until END
           WHERE visitor = ?3 AND attribute = ?4`,
          version.receivedAt,
          version.id,
          version.visitor,
          version.attribute,
        );
      }
    });
  }

  /**
   * Takes back confirmations Target went back on (its batch status listed the rows as failed): the
   * writes are sent again, and older ones wait for them once more.
   */
  retract(versions: readonly Version[]): void {
    this.ctx.storage.transactionSync(() => {
      for (const version of versions) {
        this.#sql.exec(
          "UPDATE newest SET delivered_at = NULL, delivered_id = NULL WHERE visitor = ? AND attribute = ? AND delivered_at = ? AND delivered_id = ?",
          version.visitor,
          version.attribute,
          version.receivedAt,
          version.id,
        );
      }
    });
  }

  /**
   * The versions on record, once a direct send whose lease ran out unconfirmed (its request died,
   * or could not release it) is taken back as `release` would have: it cannot reach Target any
   * more, and older writes must not wait for it for ever.
   */
  #current(version: Version, now: number): Held | undefined {
    const held = this.#held(version);
    if (held === undefined || held.directUntil === null || held.directUntil > now) return held;
    this.release([{ ...version, receivedAt: held.admittedAt, id: held.admittedId }]);
    return this.#held(version);
  }

  #held({ visitor, attribute }: Version) {
    return this.#sql
      .exec<Held>(
        `SELECT admitted_at AS admittedAt, admitted_id AS admittedId, delivered_at AS deliveredAt, delivered_id AS deliveredId,
                direct_until AS directUntil
           FROM newest WHERE visitor = ? AND attribute = ?`,
        visitor,
        attribute,
      )
      .toArray()[0];
  }
}

// A type, not an interface: SqlStorage's row type needs an index signature.
type Held = {
  readonly admittedAt: number;
  readonly admittedId: string;
  readonly deliveredAt: number | null;
  readonly deliveredId: string | null;
  /** Set while the admitted version is a direct send, not yet confirmed or released: when its lease ends. */
  readonly directUntil: number | null;
};

export interface Version {
  readonly visitor: string;
  readonly attribute: string;
  readonly receivedAt: number;
  readonly id: string;
}
