// The relay's runtime configuration, built once from its parsed settings (parse-env.ts): keys digested,
// signing secrets imported, the Target clients created. What every request and queue batch runs on.
import { isTargetValidationError, SINGLE_UPDATES_PER_DAY, type TargetClient } from "../../src/index.js";
import { digestKeys, type RelayKey } from "../auth/relay-keys.js";
import { importSigningSecrets } from "../auth/request-signature.js";
import type { DeliveryMode } from "../delivery/delivery-mode.js";
import type { IdempotencyKeys } from "../objects/idempotency-keys.js";
import type { TargetQuotas } from "../objects/target-quotas.js";
import type { LocalEmulator } from "../upstream/local-emulator.js";
import { createUpstream } from "../upstream/upstream.js";
import { realtimeSessionStore } from "../objects/realtime-sessions.js";
import type { EnvSettings, QueuedDelivery, RealtimeDelivery } from "./parse-env.js";

export type { QueuedDelivery, RealtimeDelivery } from "./parse-env.js";

/** Everything a request needs, checked once: keys, signing, limits, and the Target client. */
export interface RelayConfig {
  readonly keys: readonly RelayKey[];
  /** Set when requests must be signed. */
  readonly signingSecrets: readonly CryptoKey[] | undefined;
  /** Set when only these attribute names may be sent. */
  readonly allowedAttributes: ReadonlySet<string> | undefined;
  readonly maxBatchRows: number;
  readonly rateLimit: RateLimit;
  readonly clientCode: string;
  /** For single updates and profile reads: the core's retries ride out brief failures. */
  readonly target: TargetClient;
  /**
   * For every bulk call (route submissions and status reads, queued deliveries, follow-ups): no retries of
   * its own, so that each call is one slot of the bulk budget (delivery/bulk-budget.ts), and for queued
   * deliveries' single updates (the queue retries them).
   */
  readonly deliveryTarget: TargetClient;
  readonly delivery: DeliveryMode;
  /** Set when every binding of queued delivery is there (always, unless delivery is direct). */
  readonly queued: QueuedDelivery | undefined;
  /** Set when delivery is realtime (its queued bindings are then set too). */
  readonly realtime: RealtimeDelivery | undefined;
  readonly idempotencyKeys: DurableObjectNamespace<IdempotencyKeys>;
  /** Target's rate limits for the account, shared by every isolate: the bulk budget, single updates. */
  readonly quotas: DurableObjectNamespace<TargetQuotas>;
  /** Single updates the relay may send in any rolling 24 hours, where it counts them (auto delivery, and the consumer). */
  readonly singleUpdateLimit: number;
  readonly bulkCallsPerMinute: number;
  /** The local emulator, when it is the upstream. */
  readonly emulator: LocalEmulator | undefined;
}

export type ConfigResult =
  { readonly ok: true; readonly config: RelayConfig } | { readonly ok: false; readonly problems: readonly string[] };

/** The runtime objects of checked settings; the problems, when the core refuses one of them. */
export async function buildConfig(settings: EnvSettings): Promise<ConfigResult> {
  let upstream: ReturnType<typeof createUpstream>;
  try {
    upstream = createUpstream({
      upstream: settings.TARGET_UPSTREAM,
      clientCode: settings.TARGET_CLIENT_CODE,
      token: settings.TARGET_TOKEN,
      retry: settings.TARGET_RETRY,
      timeout: settings.TARGET_TIMEOUT,
      seed: settings.TARGET_EMULATOR_SEED ?? [],
      visibilityDelay: settings.TARGET_EMULATOR_VISIBILITY_DELAY,
      consecutiveBatches: settings.TARGET_EMULATOR_CONSECUTIVE_BATCHES,
      // Realtime writes keep each visitor's Delivery API session where every isolate finds it.
      sessionStore: settings.realtime && realtimeSessionStore(settings.realtime.sessions),
    });
  } catch (error) {
    // The client code and timeout were checked already, so the core can only be refusing the retry policy.
    if (!isTargetValidationError(error)) throw error;
    return { ok: false, problems: error.issues.map((issue) => `TARGET_RETRY: ${issue.message}`) };
  }

  return {
    ok: true,
    config: {
      keys: await digestKeys(settings.RELAY_KEYS),
      signingSecrets: settings.RELAY_SIGNING_SECRETS && (await importSigningSecrets(settings.RELAY_SIGNING_SECRETS)),
      allowedAttributes: settings.RELAY_ALLOWED_ATTRIBUTES && new Set(settings.RELAY_ALLOWED_ATTRIBUTES),
      maxBatchRows: settings.RELAY_MAX_BATCH_ROWS,
      rateLimit: settings.RELAY_RATE_LIMIT,
      clientCode: settings.TARGET_CLIENT_CODE,
      target: upstream.target,
      deliveryTarget: upstream.deliveryTarget,
      delivery: settings.RELAY_DELIVERY,
      queued: settings.queued,
      realtime: settings.realtime,
      idempotencyKeys: settings.IDEMPOTENCY_KEYS,
      quotas: settings.TARGET_QUOTAS,
      singleUpdateLimit: Math.floor(settings.RELAY_SINGLE_UPDATE_SHARE * SINGLE_UPDATES_PER_DAY),
      bulkCallsPerMinute: settings.TARGET_BULK_CALLS_PER_MINUTE,
      emulator: upstream.emulator,
    },
  };
}
