import { DurableObject } from "cloudflare:workers";
import { shardOf } from "./shard.js";

/** How long an answer is kept for repeats. */
export const IDEMPOTENCY_WINDOW_MS = 24 * 60 * 60 * 1000;
/** A claim whose request never finished (its isolate died) is given up after this long. */
export const CLAIM_TIMEOUT_MS = 60 * 1000;
const SHARDS = 16;

/** An answer as first given: what a repeat gets back. */
export interface StoredAnswer {
  readonly status: number;
  readonly body: string;
  readonly headers: Readonly<Record<string, string>>;
}

export type Claim =
  | { readonly outcome: "claimed" }
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
  }

  /** Claims the scope for a new request, or says why not (with the first answer when there is one). */
  claim(scope: string, fingerprint: string, now: number): Claim {
    // Expired answers go as new claims come: no timer to keep.
    this.#sql.exec("DELETE FROM answers WHERE claimed_at <= ?", now - IDEMPOTENCY_WINDOW_MS);
    const held = this.#sql
      .exec<{ fingerprint: string; claimedAt: number; answer: string | null }>(
        "SELECT fingerprint, claimed_at AS claimedAt, answer FROM answers WHERE scope = ?",
        scope,
      )
      .toArray()[0];
    const live =
      held !== undefined && now - held.claimedAt < (held.answer === null ? CLAIM_TIMEOUT_MS : IDEMPOTENCY_WINDOW_MS);
    if (live) {
      if (held.fingerprint !== fingerprint) return { outcome: "mismatch" };
      return held.answer === null
        ? { outcome: "in_progress" }
        : { outcome: "answered", answer: JSON.parse(held.answer) as StoredAnswer };
    }
    this.#sql.exec(
      "INSERT OR REPLACE INTO answers (scope, fingerprint, claimed_at, answer) VALUES (?, ?, ?, NULL)",
      scope,
      fingerprint,
      now,
    );
    return { outcome: "claimed" };
  }

  /** Keeps the answer the claimed request got. */
  answer(scope: string, answer: StoredAnswer): void {
    this.#sql.exec("UPDATE answers SET answer = ? WHERE scope = ?", JSON.stringify(answer), scope);
  }

  /** Gives the scope up (the request failed): a repeat is then treated as new. */
  release(scope: string): void {
    this.#sql.exec("DELETE FROM answers WHERE scope = ? AND answer IS NULL", scope);
  }
}

/** The object that holds a scope's key. */
export function idempotencyKeysFor(namespace: DurableObjectNamespace<IdempotencyKeys>, scope: string) {
  return namespace.getByName(`shard-${shardOf(scope, SHARDS)}`);
}
