import { DurableObject } from "cloudflare:workers";
import type { RealtimeSession, RealtimeSessionStore } from "../../src/index.js";
import { shardOf } from "./shard.js";

/** How many objects the sessions are spread over. Fixed: changing it would move live sessions away. */
const SHARDS = 32;

/**
 * Realtime delivery's Delivery API sessions, one per visitor, shared by every isolate of the relay:
 * the core's session store (`RealtimeSessionStore`), strongly consistent. Isolate memory would give
 * each isolate its own sessionId for the same visitor, which Target may apply inconsistently; here
 * two isolates racing for one visitor ask the same object, whose calls run one at a time, and get
 * one session. Visitors are spread over SHARDS objects by a hash of their key.
 *
 * A row is a visitor key, a sessionId, an edge host and a tnt id (~200 bytes), kept until the
 * session expires (31 minutes after its last call): expired rows are deleted as sessions open.
 */
export class RealtimeSessions extends DurableObject {
  readonly #sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Cloudflare.Env) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    this.#sql.exec(
      `CREATE TABLE IF NOT EXISTS sessions (
         visitor TEXT PRIMARY KEY, session_id TEXT NOT NULL, edge_host TEXT, tnt_id TEXT, expires_at INTEGER NOT NULL)
         WITHOUT ROWID`,
    );
    this.#sql.exec("CREATE INDEX IF NOT EXISTS sessions_by_expiry ON sessions (expires_at)");
  }

  /** `RealtimeSessionStore.open`: the visitor's live session, or `fresh`, kept as theirs. */
  open(visitor: string, fresh: RealtimeSession, now: number): RealtimeSession {
    return this.ctx.storage.transactionSync(() => {
      // Sessions over are personal data no longer needed: they go as new ones open.
      this.#sql.exec("DELETE FROM sessions WHERE expires_at <= ?", now);
      const held = this.#held(visitor);
      if (held !== undefined) return held;
      this.#write(visitor, fresh);
      return fresh;
    });
  }

  /**
   * `RealtimeSessionStore.save`: the same session (or none live) is replaced, its expiry never
   * shortened. Answers the visitor's session as now kept (another one, when that one is live).
   */
  save(visitor: string, session: RealtimeSession, now: number): RealtimeSession {
    return this.ctx.storage.transactionSync(() => {
      const held = this.#held(visitor);
      const live = held !== undefined && held.expiresAt > now;
      if (live && held.sessionId !== session.sessionId) return held;
      const kept = { ...session, expiresAt: Math.max(session.expiresAt, live ? held.expiresAt : 0) };
      this.#write(visitor, kept);
      return kept;
    });
  }

  #held(visitor: string): RealtimeSession | undefined {
    const row = this.#sql
      .exec<{ sessionId: string; edgeHost: string | null; tntId: string | null; expiresAt: number }>(
        "SELECT session_id AS sessionId, edge_host AS edgeHost, tnt_id AS tntId, expires_at AS expiresAt FROM sessions WHERE visitor = ?",
        visitor,
      )
      .toArray()[0];
    if (row === undefined) return undefined;
    return {
      sessionId: row.sessionId,
      expiresAt: row.expiresAt,
      ...(row.edgeHost === null ? {} : { edgeHost: row.edgeHost }),
      ...(row.tntId === null ? {} : { tntId: row.tntId }),
    };
  }

  #write(visitor: string, session: RealtimeSession): void {
    this.#sql.exec(
      `INSERT INTO sessions (visitor, session_id, edge_host, tnt_id, expires_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (visitor) DO UPDATE SET session_id = excluded.session_id, edge_host = excluded.edge_host,
           tnt_id = excluded.tnt_id, expires_at = excluded.expires_at`,
      visitor,
      session.sessionId,
      session.edgeHost ?? null,
      session.tntId ?? null,
      session.expiresAt,
    );
  }
}

/** Sessions an isolate remembers (~200 bytes each): past it, the least recently used go first. */
const CACHED_SESSIONS = 10_000;

/**
 * The core's session store, backed by the RealtimeSessions objects: what the relay's Target clients
 * use. The isolate remembers the sessions it opened or saved, and answers `open` from memory while
 * one is live there: the object never shortens a session, nor holds another for the visitor before
 * it expires, so a session live in memory (as the object last answered it) is live, and the same, in
 * the object. A visitor's later writes then cost no call to it.
 */
export function realtimeSessionStore(namespace: DurableObjectNamespace<RealtimeSessions>): RealtimeSessionStore {
  const shard = (visitor: string) => namespace.getByName(`shard-${shardOf(visitor, SHARDS)}`);
  const known = new Map<string, RealtimeSession>();
  const remember = (visitor: string, session: RealtimeSession) => {
    known.delete(visitor);
    known.set(visitor, session);
    if (known.size > CACHED_SESSIONS) known.delete(known.keys().next().value as string);
    return session;
  };
  return {
    async open(visitor, fresh, now) {
      const held = known.get(visitor);
      if (held !== undefined && held.expiresAt > now) return remember(visitor, held);
      return remember(visitor, await shard(visitor).open(visitor, fresh, now));
    },
    async save(visitor, session, now) {
      remember(visitor, await shard(visitor).save(visitor, session, now));
    },
  };
}
