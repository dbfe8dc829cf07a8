// The rolling 24-hour quotas: a million single updates and, separately, a million profile fetches.
// Adobe documents the limits but not the answer past them; the legacy guide says calls then "fail
// with an error indicating the time period until the next call will succeed". Our reading (see
// docs/target-api.md): HTTP 429 with `Retry-After` in seconds, in the endpoint's own error format.
import { DAILY_QUOTA_WINDOW_MS, FETCHES_PER_DAY, SINGLE_UPDATES_PER_DAY } from "../limits.js";
import { refusal } from "./responses.js";
import { createRollingLimit } from "./rolling-limit.js";
import type { Operation } from "./types.js";

export interface DailyQuotaOptions {
  readonly singleUpdatesPerDay?: number | undefined;
  readonly fetchesPerDay?: number | undefined;
}

export interface DailyQuotas {
  /** Counts the call against its quota; the 429 answer when that quota is used up (refusals do not count). */
  take(operation: Operation, now: number): Response | undefined;
  clear(): void;
}

export function createDailyQuotas(options: DailyQuotaOptions): DailyQuotas {
  const quotas = {
    update: {
      limit: createRollingLimit(options.singleUpdatesPerDay ?? SINGLE_UPDATES_PER_DAY, DAILY_QUOTA_WINDOW_MS),
      what: "updates",
    },
    fetch: {
      limit: createRollingLimit(options.fetchesPerDay ?? FETCHES_PER_DAY, DAILY_QUOTA_WINDOW_MS),
      what: "fetches",
    },
  } as const;
  return {
    take(operation, now) {
      if (operation !== "update" && operation !== "fetch") return undefined;
      const { limit, what } = quotas[operation];
      if (limit.tryAcquire(now)) return undefined;
      const seconds = Math.max(1, Math.ceil(limit.waitTime(now) / 1000));
      return refusal(
        operation === "fetch" ? "json" : "xml",
        429,
        `Limit of profile ${what} in 24 hours reached; the next call succeeds in ${seconds} seconds`,
        { "retry-after": String(seconds) },
      );
    },
    clear() {
      quotas.update.limit.clear();
      quotas.fetch.limit.clear();
    },
  };
}
