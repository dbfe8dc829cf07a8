// Where real-time writes keep each visitor's Delivery API session between calls. Target routes a
// session to the edge node holding the visitor's profile: while it lives (30 minutes after the last
// call), the visitor must keep its sessionId, and a sessionId must never serve two visitors. The store
// is pluggable: the default lives in this process's memory; a server farm or a Worker backs the same
// interface with shared storage (the relay uses a Durable Object).
import * as v from "valibot";
import { objectMessage, wholeNumber } from "../internal/schemas.js";
import { parseOrThrow } from "../internal/validation.js";

/**
 * One visitor's Delivery API session.
 * @example
 * const session: RealtimeSession = { sessionId: crypto.randomUUID(), expiresAt: Date.now() + 31 * 60_000 };
 */
export interface RealtimeSession {
  /** Sent with every call of the visitor while the session lives. */
  readonly sessionId: string;
  /** The edge host Target last answered from (as Target wrote it): later calls go there. */
  readonly edgeHost?: string | undefined;
  /** The visitor's Target id, as Target last returned it. */
  readonly tntId?: string | undefined;
  /** Unix milliseconds after which the session is over, unless a call extends it. */
  readonly expiresAt: number;
}

/**
 * Keeps visitors' sessions, by visitor key (`thirdPartyId:ID` or `tntId:ID`). A store shared by
 * several processes must make each method atomic per visitor: two calls racing for one visitor must
 * open the same session.
 * @example
 * const store: RealtimeSessionStore = {
 *   open: (visitor, fresh, now) => redisOpen(visitor, fresh, now),
 *   save: (visitor, session, now) => redisSave(visitor, session, now),
 * };
 * createTargetClient({ clientCode: "acme", sessionStore: store });
 */
export interface RealtimeSessionStore {
  /**
   * The visitor's live session (one whose `expiresAt` is after `now`), or else `fresh`, kept as
   * theirs from now on.
   */
  open(visitor: string, fresh: RealtimeSession, now: number): RealtimeSession | Promise<RealtimeSession>;
  /**
   * Records a session after a call (its edge host, tnt id and new expiry). It replaces the
   * visitor's session when that is the same one (same `sessionId`) or none is live; a different live
   * session, opened since by another call, stays.
   */
  save(visitor: string, session: RealtimeSession, now: number): void | Promise<void>;
}

/** A store the client can use: an object with `open` and `save`. */
export const SessionStoreSchema = v.custom<RealtimeSessionStore>(
  (input) =>
    typeof input === "object" &&
    input !== null &&
    typeof (input as Partial<RealtimeSessionStore>).open === "function" &&
    typeof (input as Partial<RealtimeSessionStore>).save === "function",
  "sessionStore must be an object with open and save methods",
);

/**
 * Options of `createMemorySessionStore`.
 * @example
 * createMemorySessionStore({ maxSessions: 50_000 });
 */
export interface MemorySessionStoreOptions {
  /**
   * Sessions kept at most (default 10,000); past it, the least recently used goes first. Size it to
   * the visitors written within half an hour: a visitor whose live session was pushed out gets a new
   * one, which Target may apply inconsistently.
   */
  readonly maxSessions?: number | undefined;
}

const MemoryOptionsSchema = v.strictObject(
  {
    maxSessions: v.optional(wholeNumber("maxSessions", 1), 10_000),
  },
  objectMessage("options must be an object", "unknown option"),
);

/**
 * A session store in this process's memory, bounded (the default of `createTargetClient`). Sessions
 * are kept in the order of their last use, so the ones pushed out are the first to expire anyway.
 * @example
 * const target = createTargetClient({ clientCode: "acme", sessionStore: createMemorySessionStore({ maxSessions: 50_000 }) });
 */
export function createMemorySessionStore(options: MemorySessionStoreOptions = {}): RealtimeSessionStore {
  const { maxSessions } = parseOrThrow(MemoryOptionsSchema, options);
  const sessions = new Map<string, RealtimeSession>();

  const live = (visitor: string, now: number) => {
    const held = sessions.get(visitor);
    if (held !== undefined && held.expiresAt <= now) sessions.delete(visitor);
    return held !== undefined && held.expiresAt > now ? held : undefined;
  };
  const keep = (visitor: string, session: RealtimeSession) => {
    // Deleted first, so that the Map's order is the order of last use.
    sessions.delete(visitor);
    sessions.set(visitor, session);
    if (sessions.size > maxSessions) sessions.delete(sessions.keys().next().value as string);
  };

  return {
    open(visitor, fresh, now) {
      const session = live(visitor, now) ?? fresh;
      keep(visitor, session);
      return session;
    },
    save(visitor, session, now) {
      const held = live(visitor, now);
      if (held !== undefined && held.sessionId !== session.sessionId) return;
      keep(visitor, { ...session, expiresAt: Math.max(session.expiresAt, held?.expiresAt ?? 0) });
    },
  };
}
