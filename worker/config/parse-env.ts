import * as v from "valibot";
import { AttributeNameSchema, ClientCodeSchema, formatPath, thirdPartyIdSchema } from "../../src/internal/index.js";
import {
  BULK_CALLS_PER_MINUTE,
  isTargetValidationError,
  MAX_BATCH_ROWS,
  SINGLE_UPDATES_PER_DAY,
  type TargetClient,
} from "../../src/index.js";
import type { Env } from "../env.js";
import type { LocalEmulator } from "../upstream/local-emulator.js";
import type { BatchLedger } from "../objects/batch-ledger.js";
import type { DeadLetterStore } from "../objects/dead-letter-store.js";
import type { IdempotencyKeys } from "../objects/idempotency-keys.js";
import type { NewestWrites } from "../objects/newest-writes.js";
import type { TargetQuotas } from "../objects/target-quotas.js";
import { digestKeys, RelayKeysSchema, type RelayKey } from "../auth/relay-keys.js";
import { importSigningSecrets } from "../auth/request-signature.js";
import { DELIVERY_MODES, type DeliveryMode } from "../delivery/delivery-mode.js";
import { createUpstream } from "../upstream/upstream.js";

/** The bindings queued delivery runs on (wrangler.toml declares them all). */
export interface QueuedDelivery {
  readonly updates: Queue;
  readonly deliveries: Queue;
  readonly newestWrites: DurableObjectNamespace<NewestWrites>;
  readonly quotas: DurableObjectNamespace<TargetQuotas>;
  readonly deadLetters: DurableObjectNamespace<DeadLetterStore>;
  readonly ledgers: DurableObjectNamespace<BatchLedger>;
}

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
  readonly target: TargetClient;
  /** The client queued deliveries use: no retries of its own (upstream.ts). */
  readonly deliveryTarget: TargetClient;
  readonly delivery: DeliveryMode;
  /** Set when every binding of queued delivery is there (always, unless delivery is direct). */
  readonly queued: QueuedDelivery | undefined;
  readonly idempotencyKeys: DurableObjectNamespace<IdempotencyKeys>;
  /** Single updates the relay may send in any rolling 24 hours, where it counts them (auto delivery, and the consumer). */
  readonly singleUpdateLimit: number;
  readonly bulkCallsPerMinute: number;
  /** The local emulator, when it is the upstream. */
  readonly emulator: LocalEmulator | undefined;
}

export type ConfigResult =
  { readonly ok: true; readonly config: RelayConfig } | { readonly ok: false; readonly problems: readonly string[] };

/** Keys and secrets must be this long against Target; the emulator takes short dev keys. */
const MIN_SECRET_LENGTH = 32;
/** Enough for most pushes, and a bound on the CPU one request may take. */
const DEFAULT_MAX_BATCH_ROWS = 10_000;
/** Leaves a fifth of Target's single-update cap to anything else that uses it. */
const DEFAULT_SINGLE_UPDATE_SHARE = 0.8;

/** `"a", "b" or "c"`. */
const oneOf = (values: readonly string[]) =>
  `${values
    .slice(0, -1)
    .map((value) => `"${value}"`)
    .join(", ")} or "${values.at(-1)}"`;

/** A whole number from a TOML number or a string (vars set outside wrangler.toml are strings). */
const wholeNumber = (min: number, max: number, why = "") =>
  v.pipe(
    v.union([v.number(), v.pipe(v.string(), v.regex(/^\d+$/), v.transform(Number))], "must be a whole number"),
    v.integer("must be a whole number"),
    v.minValue(min, `must be at least ${min}`),
    v.maxValue(max, `must be at most ${max}${why}`),
  );

const share = v.pipe(
  v.union(
    [v.number(), v.pipe(v.string(), v.regex(/^\d*\.?\d+$/), v.transform(Number))],
    "must be a number from 0 to 1",
  ),
  v.check((value) => value > 0 && value <= 1, "must be a number above 0 and at most 1"),
);

const binding = <T>(what: string, test: (value: Partial<Record<string, unknown>>) => boolean) =>
  v.optional(
    v.custom<T>(
      (value) => typeof value === "object" && value !== null && test(value as Partial<Record<string, unknown>>),
      `must be a ${what} binding (see wrangler.toml)`,
    ),
  );
const queue = () => binding<Queue>("[[queues.producers]]", (value) => typeof value.sendBatch === "function");
const durableObject = <T extends Rpc.DurableObjectBranded>() =>
  binding<DurableObjectNamespace<T>>("[[durable_objects.bindings]]", (value) => typeof value.idFromName === "function");

/** Queued delivery's bindings, by var name: each is required unless delivery is direct. */
const QUEUED_BINDINGS = {
  UPDATES_QUEUE: "updates",
  DELIVERIES_QUEUE: "deliveries",
  NEWEST_WRITES: "newestWrites",
  TARGET_QUOTAS: "quotas",
  DEAD_LETTERS: "deadLetters",
  BATCH_LEDGERS: "ledgers",
} as const satisfies Record<string, keyof QueuedDelivery>;

/** A secret holding JSON (secrets are always strings). */
const json = <TSchema extends v.GenericSchema<unknown, unknown>>(schema: TSchema, what: string) =>
  v.pipe(v.string(`must be ${what}`), v.parseJson(undefined, `must be ${what}`), schema);

/** A TOML array, or a comma-separated string (as vars set in the dashboard or .dev.vars are). */
const list = <TSchema extends v.GenericSchema<string, unknown>>(item: TSchema, what: string) =>
  v.pipe(
    v.union(
      [
        v.array(v.string()),
        v.pipe(
          v.string(),
          v.transform((text) => text.split(",").map((entry) => entry.trim())),
        ),
      ],
      `must be ${what}`,
    ),
    v.transform((entries) => entries.filter(Boolean)),
    v.array(item),
    v.nonEmpty("must name at least one entry (leave it unset otherwise)"),
  );

const SecretsSchema = v.pipe(
  v.array(
    v.pipe(v.string("must hold strings"), v.nonEmpty("must not hold empty secrets")),
    "must be a JSON array of secrets",
  ),
  v.nonEmpty("must hold at least one secret"),
);

const EnvSchema = v.pipe(
  v.object({
    TARGET_CLIENT_CODE: v.pipe(v.string("is required (a var in wrangler.toml)"), ClientCodeSchema),
    TARGET_UPSTREAM: v.optional(v.picklist(["target", "emulator"], 'must be "target" or "emulator"'), "target"),
    TARGET_TOKEN: v.optional(v.pipe(v.string("must be a string"), v.nonEmpty("must not be empty"))),
    TARGET_EMULATOR_SEED: v.optional(list(thirdPartyIdSchema("each seed id"), "comma-separated mbox3rdPartyIds")),
    TARGET_RETRY: v.optional(
      v.union(
        [v.pipe(v.string(), v.parseJson(undefined, "must be JSON")), v.number(), v.looseObject({})],
        "must be a retry policy",
      ),
    ),
    RELAY_KEYS: json(RelayKeysSchema, "a JSON array of { name, key, scope } (wrangler secret put RELAY_KEYS)"),
    RELAY_SIGNING_SECRETS: v.optional(json(SecretsSchema, "a JSON array of secrets")),
    RELAY_ALLOWED_ATTRIBUTES: v.optional(list(AttributeNameSchema, "a list of attribute names")),
    RELAY_MAX_BATCH_ROWS: v.optional(wholeNumber(1, MAX_BATCH_ROWS, " (Target's limit)"), DEFAULT_MAX_BATCH_ROWS),
    TARGET_TIMEOUT: v.optional(wholeNumber(1, 10 * 60 * 1000)),
    RELAY_RATE_LIMIT: v.custom<RateLimit>(
      (binding) => typeof (binding as Partial<RateLimit> | undefined)?.limit === "function",
      "must be a [[ratelimits]] binding (see wrangler.toml)",
    ),
    RELAY_DELIVERY: v.optional(v.picklist(DELIVERY_MODES, `must be ${oneOf(DELIVERY_MODES)}`), "direct"),
    RELAY_SINGLE_UPDATE_SHARE: v.optional(share, DEFAULT_SINGLE_UPDATE_SHARE),
    TARGET_BULK_CALLS_PER_MINUTE: v.optional(
      wholeNumber(1, BULK_CALLS_PER_MINUTE, " (Target's limit)"),
      BULK_CALLS_PER_MINUTE,
    ),
    IDEMPOTENCY_KEYS: v.pipe(
      durableObject<IdempotencyKeys>(),
      v.check((value) => value !== undefined, "must be a [[durable_objects.bindings]] binding (see wrangler.toml)"),
    ),
    UPDATES_QUEUE: queue(),
    DELIVERIES_QUEUE: queue(),
    NEWEST_WRITES: durableObject<NewestWrites>(),
    TARGET_QUOTAS: durableObject<TargetQuotas>(),
    DEAD_LETTERS: durableObject<DeadLetterStore>(),
    BATCH_LEDGERS: durableObject<BatchLedger>(),
  }),
  // Against Adobe Target: a token, and keys and secrets too long to guess.
  v.forward(
    v.partialCheck(
      [["TARGET_UPSTREAM"], ["TARGET_TOKEN"]],
      (env) => env.TARGET_UPSTREAM === "emulator" || env.TARGET_TOKEN !== undefined,
      "is required (wrangler secret put TARGET_TOKEN)",
    ),
    ["TARGET_TOKEN"],
  ),
  v.forward(
    v.partialCheck(
      [["TARGET_UPSTREAM"], ["RELAY_KEYS"]],
      (env) => env.TARGET_UPSTREAM === "emulator" || env.RELAY_KEYS.every(({ key }) => key.length >= MIN_SECRET_LENGTH),
      `keys must be at least ${MIN_SECRET_LENGTH} characters`,
    ),
    ["RELAY_KEYS"],
  ),
  v.forward(
    v.partialCheck(
      [["TARGET_UPSTREAM"], ["RELAY_SIGNING_SECRETS"]],
      (env) =>
        env.TARGET_UPSTREAM === "emulator" ||
        (env.RELAY_SIGNING_SECRETS ?? []).every((secret) => secret.length >= MIN_SECRET_LENGTH),
      `secrets must be at least ${MIN_SECRET_LENGTH} characters`,
    ),
    ["RELAY_SIGNING_SECRETS"],
  ),
  v.forward(
    v.partialCheck(
      [["TARGET_UPSTREAM"], ["TARGET_EMULATOR_SEED"]],
      (env) => env.TARGET_UPSTREAM === "emulator" || env.TARGET_EMULATOR_SEED === undefined,
      'only applies with TARGET_UPSTREAM = "emulator"',
    ),
    ["TARGET_EMULATOR_SEED"],
  ),
);

// Config is checked on first use and kept for the isolate's life (per `env` object).
const loaded = new WeakMap<object, Promise<ConfigResult>>();

/**
 * The relay's configuration, or every problem with it. Problems name the var and the rule, never
 * a value: they are logged. A fallback message covers any rule without one of its own, since
 * valibot's defaults quote the input (here, secrets).
 */
export function loadConfig(env: Env): Promise<ConfigResult> {
  let result = loaded.get(env);
  if (result === undefined) {
    result = check(env);
    loaded.set(env, result);
  }
  return result;
}

async function check(env: Env): Promise<ConfigResult> {
  const parsed = v.safeParse(EnvSchema, env, { message: (issue) => `must be ${issue.expected ?? "valid"}` });
  if (!parsed.success)
    return { ok: false, problems: parsed.issues.map((issue) => `${formatPath(issue.path)}: ${issue.message}`) };
  const settings = parsed.output;

  const missing = Object.keys(QUEUED_BINDINGS).filter(
    (name) => settings[name as keyof typeof QUEUED_BINDINGS] === undefined,
  );
  if (settings.RELAY_DELIVERY !== "direct" && missing.length > 0) {
    return {
      ok: false,
      problems: missing.map(
        (name) => `${name}: is required when RELAY_DELIVERY is "${settings.RELAY_DELIVERY}" (see wrangler.toml)`,
      ),
    };
  }
  const queued =
    missing.length > 0
      ? undefined
      : (Object.fromEntries(
          Object.entries(QUEUED_BINDINGS).map(([name, field]) => [
            field,
            settings[name as keyof typeof QUEUED_BINDINGS],
          ]),
        ) as unknown as QueuedDelivery);

  let upstream: ReturnType<typeof createUpstream>;
  try {
    upstream = createUpstream({
      upstream: settings.TARGET_UPSTREAM,
      clientCode: settings.TARGET_CLIENT_CODE,
      token: settings.TARGET_TOKEN,
      retry: settings.TARGET_RETRY,
      timeout: settings.TARGET_TIMEOUT,
      seed: settings.TARGET_EMULATOR_SEED ?? [],
    });
  } catch (error) {
    // The client code and timeout passed above, so the core can only be refusing the retry policy.
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
      queued,
      idempotencyKeys: settings.IDEMPOTENCY_KEYS as DurableObjectNamespace<IdempotencyKeys>,
      singleUpdateLimit: Math.floor(settings.RELAY_SINGLE_UPDATE_SHARE * SINGLE_UPDATES_PER_DAY),
      bulkCallsPerMinute: settings.TARGET_BULK_CALLS_PER_MINUTE,
      emulator: upstream.emulator,
    },
  };
}
