import { DurableObject } from "cloudflare:workers";
import type { QueuedUpdate } from "../delivery/queue-messages.js";

/** Longer than the overflow queue keeps a dead-lettered follow-up (14 days, docs/relay.md). */
export const LEDGER_RETENTION_MS = 15 * 24 * 60 * 60 * 1000;

/**
 * What went into one submitted batch: its (partial) updates, kept from submission until its
 * follow-up has read the batch's status, so that the rows Target reports as failed can be queued
 * again. One object per batch id; `forget` deletes it all. (A follow-up message could not carry
 * them: a queue message holds 128 KB, a batch file up to 50 MB.)
 *
 * A ledger whose follow-up was never queued (the delivery failed after submitting, and its bundles
 * were retried, so a later batch carries the same updates) would keep personal data for ever: an
 * alarm deletes any ledger LEDGER_RETENTION_MS after it was first written, long after a follow-up
 * and its dead-lettering (about a day each), or the overflow queue's 14 days, would have read it.
 */
export class BatchLedger extends DurableObject {
  readonly #sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Cloudflare.Env) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
  }

  // Made on first use, not in the constructor: after `forget`, the object holds nothing at all.
  #table(): SqlStorage {
    this.#sql.exec("CREATE TABLE IF NOT EXISTS updates (update_id TEXT PRIMARY KEY, body TEXT NOT NULL)");
    return this.#sql;
  }

  async record(updates: readonly QueuedUpdate[]): Promise<void> {
    const sql = this.#table();
    this.ctx.storage.transactionSync(() => {
      for (const update of updates)
        sql.exec("INSERT OR REPLACE INTO updates (update_id, body) VALUES (?, ?)", update.id, JSON.stringify(update));
    });
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now() + LEDGER_RETENTION_MS);
  }

  read(): QueuedUpdate[] {
    return this.#table()
      .exec<{ body: string }>("SELECT body FROM updates")
      .toArray()
      .map(({ body }) => JSON.parse(body) as QueuedUpdate);
  }

  async forget(): Promise<void> {
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
  }

  override async alarm(): Promise<void> {
    await this.forget();
  }
}

export const ledgerOf = (namespace: DurableObjectNamespace<BatchLedger>, batchId: string) =>
  namespace.getByName(batchId);
