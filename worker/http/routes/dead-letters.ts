import * as v from "valibot";
import { objectMessage, parseOrThrow } from "../../../src/internal/index.js";
import type { EndpointCall, ProtectedEndpoint } from "../route-handler.js";
import { jsonResponse } from "../json-response.js";
import { deadLetterStoreOf } from "../../objects/dead-letter-store.js";
import { enqueueBundles } from "../../delivery/enqueue.js";
import { RelayError } from "../../relay-error.js";

/** The dead-letter store, or a 404 when queued delivery is not set up (no bindings). */
function storeOf({ config }: EndpointCall) {
  if (config.queued === undefined)
    throw new RelayError(404, "not_found", "queued delivery is not set up: there are no dead letters");
  return { queued: config.queued, store: deadLetterStoreOf(config.queued.deadLetters) };
}

/**
 * `GET /v1/dead-letters`: how many updates the relay gave up on, by reason — counts, reason codes
 * and times only, never an id or a value. Admin scope.
 */
export const listDeadLetters: ProtectedEndpoint = {
  scopes: ["admin"],
  maxBodyBytes: 0,
  async handle(call) {
    return jsonResponse(200, await storeOf(call).store.summary());
  },
};

const MAX_REPLAY = 10_000;

const ReplaySchema = v.strictObject(
  {
    limit: v.optional(
      v.pipe(
        v.number("must be a number"),
        v.integer("must be a whole number"),
        v.minValue(1, "must be at least 1"),
        v.maxValue(MAX_REPLAY, `must be at most ${MAX_REPLAY}`),
      ),
      1_000,
    ),
    reason: v.optional(
      v.pipe(v.string("must be a reason code from GET /v1/dead-letters"), v.nonEmpty("must not be empty")),
    ),
  },
  objectMessage("the body must be { limit?, reason? }", "unknown field: the body takes limit and reason"),
);

/**
 * `POST /v1/dead-letters/replay` with `{ limit?, reason? }`: queues up to `limit` dead letters again
 * (oldest first, of one reason if given), then forgets them; answers `202 { requestId, replayed,
 * remaining }`. They keep their ids and arrival times, so they still lose to anything written since;
 * and they get their one re-enqueue after a failed row again. Admin scope.
 */
export const replayDeadLetters: ProtectedEndpoint = {
  scopes: ["admin"],
  maxBodyBytes: 1024,
  async handle(call) {
    const { limit, reason } = parseOrThrow(ReplaySchema, call.body);
    const { queued, store } = storeOf(call);
    const updates = await store.peek(limit, reason);
    // Queued before forgotten: a failure in between replays some twice, which is harmless, never none.
    await enqueueBundles(
      queued,
      updates.map(({ requeued: _, ...update }) => update),
    ).catch(() => {
      throw new RelayError(503, "queue_unavailable", "the relay could not queue the dead letters: try again", {
        headers: { "retry-after": "10" },
      });
    });
    await store.remove(updates.map(({ id }) => id));
    call.log.updates = updates.length;
    const { total } = await store.summary();
    return jsonResponse(202, { requestId: call.requestId, replayed: updates.length, remaining: total });
  },
};
