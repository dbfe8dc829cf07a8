// target-profile's relay: trusted servers post sensitive profile attributes here; the Worker alone
// holds the Target credentials, checks the caller and the attributes, and forwards them — at once,
// or through its queues, coalesced into bulk batches (docs/relay.md).
import type { Env } from "./env.js";
import { handleRequest } from "./http/handle-request.js";
import { handleQueue } from "./queue/handle-queue.js";

export default {
  fetch(request, env) {
    return handleRequest(request, env);
  },
  queue(batch, env) {
    return handleQueue(batch, env);
  },
} satisfies ExportedHandler<Env>;

// The Durable Objects queued delivery keeps its state in (SQLite-backed; see wrangler.toml).
export { BatchLedger } from "./objects/batch-ledger.js";
export { DeadLetterStore } from "./objects/dead-letter-store.js";
export { IdempotencyKeys } from "./objects/idempotency-keys.js";
export { NewestWrites } from "./objects/newest-writes.js";
export { RealtimeSessions } from "./objects/realtime-sessions.js";
export { TargetQuotas } from "./objects/target-quotas.js";
