import { parseOrThrow, ReplayBodySchema, type ReplayAnswer } from "../../../src/internal/index.js";
import { enqueueBundles, queueUnavailable } from "../../delivery/enqueue.js";
import { deadLetterStoreOf } from "../../objects/dead-letter-store.js";
import { RelayError } from "../../relay-error.js";
import { jsonResponse } from "../json-response.js";
import type { HandlerCall, ProtectedHandler } from "../route-handler.js";

/** The dead-letter store, or a 404 when queued delivery is not set up (no bindings). */
function storeOf({ config }: HandlerCall) {
  if (config.queued === undefined)
    throw new RelayError(404, "not_found", "queued delivery is not set up: there are no dead letters");
  return { queued: config.queued, store: deadLetterStoreOf(config.queued.deadLetters) };
}

/**
 * `GET /v1/dead-letters`: how many updates the relay gave up on, by reason — counts, reason codes
 * and times only, never an id or a value. Admin scope.
 */
export const listDeadLetters: ProtectedHandler = {
  scopes: ["admin"],
  maxBodyBytes: 0,
  async handle(call) {
    return jsonResponse(200, await storeOf(call).store.summary());
  },
};

/**
 * `POST /v1/dead-letters/replay` with `{ limit?, reason? }`: queues up to `limit` dead letters again
 * (oldest first, of one reason if given), then forgets them; answers `202 { requestId, replayed,
 * remaining }`. They keep their ids and arrival times, so they still lose to anything written since;
 * and they get their one re-enqueue after a failed row again. Admin scope.
 */
export const replayDeadLetters: ProtectedHandler = {
  scopes: ["admin"],
  maxBodyBytes: 1024,
  async handle(call) {
    const { limit, reason } = parseOrThrow(ReplayBodySchema, call.body);
    const { queued, store } = storeOf(call);
    const updates = await store.peek(limit, reason);
    // Queued before forgotten: a failure in between replays some twice, which is harmless, never none.
    await enqueueBundles(
      queued,
      updates.map(({ requeued: _, ...update }) => update),
    ).catch(() => {
      throw queueUnavailable("the dead letters");
    });
    await store.remove(updates.map(({ id }) => id));
    call.log.updates = updates.length;
    const { total } = await store.summary();
    const answer: ReplayAnswer = { requestId: call.requestId, replayed: updates.length, remaining: total };
    return jsonResponse(202, answer);
  },
};
