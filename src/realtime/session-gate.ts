// At most MAX_CONCURRENT_SESSION_REQUESTS calls of one session in flight from this client: Target
// answers 420 past 100 concurrent requests of a session, and processes them one by one anyway, so
// further calls wait here for a turn instead of being refused and retried.
import { MAX_CONCURRENT_SESSION_REQUESTS } from "../limits.js";

export interface SessionGate {
  /** Resolves when a call of `sessionId` may go (and counts it); rejects with the signal's reason on abort. */
  enter(sessionId: string, signal?: AbortSignal): Promise<void>;
  /** The call is over: the next waiting one of the session goes. */
  leave(sessionId: string): void;
}

interface Turns {
  inFlight: number;
  readonly waiting: (() => void)[];
}

export function createSessionGate(limit = MAX_CONCURRENT_SESSION_REQUESTS): SessionGate {
  const sessions = new Map<string, Turns>();
  return {
    async enter(sessionId, signal) {
      signal?.throwIfAborted();
      let turns = sessions.get(sessionId);
      if (turns === undefined) sessions.set(sessionId, (turns = { inFlight: 0, waiting: [] }));
      if (turns.inFlight < limit) {
        turns.inFlight++;
        return;
      }
      const { waiting } = turns;
      await new Promise<void>((resolve, reject) => {
        // The turn is handed over as it is: `leave` does not count it down for a waiting call.
        const go = () => {
          signal?.removeEventListener("abort", stop);
          resolve();
        };
        const stop = () => {
          waiting.splice(waiting.indexOf(go), 1);
          reject(signal?.reason);
        };
        waiting.push(go);
        signal?.addEventListener("abort", stop, { once: true });
      });
    },
    leave(sessionId) {
      const turns = sessions.get(sessionId);
      if (turns === undefined) return;
      const next = turns.waiting.shift();
      if (next !== undefined) return next();
      if (--turns.inFlight === 0) sessions.delete(sessionId);
    },
  };
}
