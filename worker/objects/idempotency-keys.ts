import { DurableObject } from "cloudflare:workers";
import { shardOf } from "./shard.js";

/** How long an answer is kept for repeats. */
export const IDEMPOTENCY_WINDOW_MS = 24 * 60 * 60 * 1000;
/**
 * A claim whose request stopped renewing it (its isolate died) is given up after this long. A request
 * renews its claim every CLAIM_RENEW_MS for as long as it runs, so a slow one is never run twice.
 */
export const CLAIM_TIMEOUT_MS = 60 * 1000;
export const CLAIM_RENEW_MS = 15 * 1000;
const SHARDS = 16;

/** An answer as first given: what a repeat gets back. */
export interface StoredAnswer {
  readonly status: number;
  readonly body: string;
  readonly headers: Readonly<Record<string, string>>;
}

export type Claim =
  | { readonly outcome: "claimed"; readonly claimId: string }
  | { readonly outcome: "answered"; readonly answer: StoredAnswer }
  | { readonly outcome: "in_progress" }
  | { readonly outcome: "mismatch" };

/**
 * `Idempotency-Key`s and the answers they got, for 24 hours. A key is scoped by the caller's key
 * name, and bound to the request it first came with (a fingerprint of its method, path and body).
 * Strongly consistent, like the rest of the delivery state: two isolates racing on one key both
 * ask the same object, and only one claims it. Spread over SHARDS objects by a hash of the scope.
 */
export class IdempotencyKeys extends DurableObject {
  readonly #sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Cloudflare.Env) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    this.#sql.exec(
      `CREATE TABLE IF NOT EXISTS answers (
         scope TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, claimed_at INTEGER NOT NULL, answer TEXT)`,
    );
    this.#sql.exec("CREATE INDEX IF NOT EXISTS answers_by_age ON answers (claimed_at)");
    // Added since: which claim holds the scope, and when its request last said it was still running.
    const columns = this.#sql.exec<{ name: string }>("SELECT name FROM pragma_table_info('answers')").toArray();
    if (!columns.some(({ name }) => name === "claim_id")) {
      this.#sql.exec("ALTER TABLE answers ADD COLUMN claim_id TEXT");
      this.#sql.exec("ALTER TABLE answers ADD COLUMN alive_at INTEGER");
    }
  }

  /** Claims the scope for a new request, or says why not (with the first answer when there is one). */
  claim(scope: string, fingerprint: string, now: number): Claim {
    // Expired answers go as new claims come: no timer to keep.
    this.#sql.exec("DELETE FROM answers WHERE claimed_at <= ?", now - IDEMPOTENCY_WINDOW_MS);
    const held = this.#sql
      .exec<{ fingerprint: string; claimedAt: number; aliveAt: number; answer: string | null }>(
        `SELECT fingerprint, claimed_at AS claimedAt, COALESCE(alive_at, claimed_at) AS aliveAt, answer
           FROM answers WHERE scope = ?`,
        scope,
      )
      .toArray()[0];
    const live =
      held !== undefined &&
      (held.answer === null ? now - held.aliveAt < CLAIM_TIMEOUT_MS : now - held.claimedAt < IDEMPOTENCY_WINDOW_MS);
    if (live) {
      if (held.fingerprint !== fingerprint) return { outcome: "mismatch" };
      return held.answer === null
        ? { outcome: "in_progress" }
        : { outcome: "answered", answer: JSON.parse(held.answer) as StoredAnswer };
    }
    const claimId = crypto.randomUUID();
    this.#sql.exec(
      `INSERT OR REPLACE INTO answers (scope, fingerprint, claimed_at, answer, claim_id, alive_at)
         VALUES (?, ?, ?, NULL, ?, ?)`,
      scope,
      fingerprint,
      now,
      claimId,
      now,
    );
    return { outcome: "claimed", claimId };
  }

  /** Says the claimed request is still running: its claim lasts CLAIM_TIMEOUT_MS more. False when it is not held any more. */
  renew(scope: string, claimId: string, now: number): boolean {
    return (
      this.#sql.exec(
        "UPDATE answers SET alive_at = ? WHERE scope = ? AND claim_id = ? AND answer IS NULL",
        now,
        scope,
        claimId,
      ).rowsWritten > 0
    );
  }

  /** Keeps the answer the claimed request got. */
  answer(scope: string, claimId: string, answer: StoredAnswer): void {
    this.#sql.exec(
      "UPDATE answers SET answer = ? WHERE scope = ? AND claim_id = ?",
      JSON.stringify(answer),
      scope,
      claimId,
    );
  }

  /** Gives the scope up (the request failed): a repeat is then treated as new. */
  release(scope: string, claimId: string): void {
    this.#sql.exec("DELETE FROM answers WHERE scope = ? AND claim_id = ? AND answer IS NULL", scope, claimId);
  }
}

/** The object that holds a scope's key. */
export function idempotencyKeysFor(namespace: DurableObjectNamespace<IdempotencyKeys>, scope: string) {
  return namespace.getByName(`shard-${shardOf(scope, SHARDS)}`);
}
