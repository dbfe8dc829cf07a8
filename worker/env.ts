// The relay's bindings, as the runtime may hand them over: any var or secret can be missing or
// malformed, so everything is typed loosely here and checked once by `loadConfig` (config/).
import type { BatchLedger } from "./objects/batch-ledger.js";
import type { DeadLetterStore } from "./objects/dead-letter-store.js";
import type { IdempotencyKeys } from "./objects/idempotency-keys.js";
import type { NewestWrites } from "./objects/newest-writes.js";
import type { RealtimeSessions } from "./objects/realtime-sessions.js";
import type { TargetQuotas } from "./objects/target-quotas.js";

declare global {
  namespace Cloudflare {
    interface Env {
      /** Var: the Target client code; the upstream is `https://CLIENTCODE.tt.omtrdc.net`. */
      TARGET_CLIENT_CODE?: string;
      /** Secret: the Profile API token, sent upstream as `Authorization: Bearer`. */
      TARGET_TOKEN?: string;
      /** Var, local runs only: `"emulator"` answers from the built-in emulator. Default `"target"`. */
      TARGET_UPSTREAM?: string;
      /** Var, local runs only: comma-separated mbox3rdPartyIds the emulator starts with. */
      TARGET_EMULATOR_SEED?: string;
      /** Var, local runs only: the emulator's visibility delay, `"realistic"` or `{ "singleUpdate", "batch" }` in ms. */
      TARGET_EMULATOR_VISIBILITY_DELAY?: unknown;
      /** Var, local runs only: the emulator's reading of consecutive v2 batches, `"merge"` (default) or `"replace"`. */
      TARGET_EMULATOR_CONSECUTIVE_BATCHES?: string;
      /** Var: the core client's retry policy (a number or `{ limit, baseDelay, maxDelay }`, or its JSON). */
      TARGET_RETRY?: unknown;
      /** Var, optional: the core client's timeout per attempt, in milliseconds (default 10,000). */
      TARGET_TIMEOUT?: string | number;
      /** Secret: JSON `[{ "name", "key", "scope": "write" | "read" | "admin" | "read write" … }, ...]`. */
      RELAY_KEYS?: string;
      /** Secret, optional: JSON `["secret", ...]`; when set, every request must be signed. */
      RELAY_SIGNING_SECRETS?: string;
      /** Var, optional: the attribute names callers may send (a TOML array, or comma-separated). */
      RELAY_ALLOWED_ATTRIBUTES?: string | readonly string[];
      /** Var, optional: most distinct ids one `POST /v1/profiles` may carry (default 10,000). */
      RELAY_MAX_BATCH_ROWS?: string | number;
      /** `[[ratelimits]]` binding, keyed by the caller's key name. */
      RELAY_RATE_LIMIT?: RateLimit;
      /** Var, optional: `"direct"` (default), `"queue"`, `"auto"` or `"realtime"` (docs/relay.md, Delivery). */
      RELAY_DELIVERY?: string;
      /** Var, required with realtime delivery: billed Delivery API calls the relay may make in any rolling 24 hours. */
      RELAY_REALTIME_CALLS_PER_DAY?: string | number;
      /** Var, optional: the share of Target's 1 million single updates a day the relay may use (default 0.8). */
      RELAY_SINGLE_UPDATE_SHARE?: string | number;
      /** Var, optional: bulk calls a minute the relay may make, of Target's 50 (default 50). */
      TARGET_BULK_CALLS_PER_MINUTE?: string | number;
      /** `[[queues.producers]]`: single updates, as received (queue and auto delivery). */
      UPDATES_QUEUE?: Queue;
      /** `[[queues.producers]]`: bundles of updates and batch follow-ups (queue and auto delivery). */
      DELIVERIES_QUEUE?: Queue;
      /** Durable Objects (SQLite), see worker/objects/. */
      NEWEST_WRITES?: DurableObjectNamespace<NewestWrites>;
      TARGET_QUOTAS?: DurableObjectNamespace<TargetQuotas>;
      IDEMPOTENCY_KEYS?: DurableObjectNamespace<IdempotencyKeys>;
      DEAD_LETTERS?: DurableObjectNamespace<DeadLetterStore>;
      BATCH_LEDGERS?: DurableObjectNamespace<BatchLedger>;
      /** Realtime delivery's visitor sessions, shared by every isolate. */
      REALTIME_SESSIONS?: DurableObjectNamespace<RealtimeSessions>;
    }
  }
}

export type Env = Cloudflare.Env;
