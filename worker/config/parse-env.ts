// The relay's environment, parsed: every var, secret and binding checked once, each problem named by its
// var and rule (never its value: problems are logged). Building the runtime objects from the settings
// is relay-config.ts; keeping them per isolate, load-config.ts.
import * as v from "valibot";
import { BULK_CALLS_PER_MINUTE, MAX_BATCH_ROWS } from "../../src/index.js";
import { AttributeNameSchema, ClientCodeSchema, formatPath, thirdPartyIdSchema } from "../../src/internal/index.js";
import { RelayKeysSchema } from "../auth/relay-keys.js";
import { DELIVERY_MODES } from "../delivery/delivery-mode.js";
import type { Env } from "../env.js";
import type { BatchLedger } from "../objects/batch-ledger.js";
import type { DeadLetterStore } from "../objects/dead-letter-store.js";
import type { IdempotencyKeys } from "../objects/idempotency-keys.js";
import type { NewestWrites } from "../objects/newest-writes.js";
import type { RealtimeSessions } from "../objects/realtime-sessions.js";
import type { TargetQuotas } from "../objects/target-quotas.js";

/** The bindings queued delivery runs on (wrangler.toml declares them all). */
export interface QueuedDelivery {
  readonly updates: Queue;
  readonly deliveries: Queue;
  readonly newestWrites: DurableObjectNamespace<NewestWrites>;
  readonly deadLetters: DurableObjectNamespace<DeadLetterStore>;
  readonly ledgers: DurableObjectNamespace<BatchLedger>;
}

/** The most signing secrets: each costs an HMAC per signature a request carries (MAX_SIGNATURES of them). */
const MAX_SIGNING_SECRETS = 5;

/** What realtime delivery runs on, besides the queues it falls back to. */
export interface RealtimeDelivery {
  readonly sessions: DurableObjectNamespace<RealtimeSessions>;
  /** Billed Delivery API calls (one per mbox of 50 attributes) the relay may make in any rolling 24 hours. */
  readonly callsPerDay: number;
}

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

/** A binding of the kind `what` names, as wrangler.toml declares it; `test` tells it from anything else. */
const binding = <T>(what: string, test: (value: Partial<Record<string, unknown>>) => boolean) =>
  v.custom<T>(
    (value) => typeof value === "object" && value !== null && test(value as Partial<Record<string, unknown>>),
    `must be a ${what} binding (see wrangler.toml)`,
  );
const queue = () => binding<Queue>("[[queues.producers]]", (value) => typeof value.sendBatch === "function");
const durableObject = <T extends Rpc.DurableObjectBranded>() =>
  binding<DurableObjectNamespace<T>>("[[durable_objects.bindings]]", (value) => typeof value.idFromName === "function");

/** Queued delivery's bindings, by var name: each is required unless delivery is direct. */
const QUEUED_BINDINGS = [
  "UPDATES_QUEUE",
  "DELIVERIES_QUEUE",
  "NEWEST_WRITES",
  "DEAD_LETTERS",
  "BATCH_LEDGERS",
] as const;

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

/** Milliseconds, from a TOML number or a string. */
const delayMs = v.union(
  [v.pipe(v.number(), v.integer(), v.minValue(0)), v.pipe(v.string(), v.regex(/^\d+$/), v.transform(Number))],
  "must be a whole number of milliseconds",
);

/** The local emulator's visibility delay: `"realistic"` (1 minute, 1 hour), or `{ singleUpdate?, batch? }` in ms. */
const VisibilityDelaySchema = v.union(
  [
    v.literal("realistic"),
    v.pipe(
      v.union([v.pipe(v.string(), v.parseJson()), v.looseObject({})]),
      v.strictObject({ singleUpdate: v.exactOptional(delayMs), batch: v.exactOptional(delayMs) }),
    ),
  ],
  'must be "realistic" or { "singleUpdate"?, "batch"? } in milliseconds',
);

const SecretsSchema = v.pipe(
  v.array(
    v.pipe(v.string("must hold strings"), v.nonEmpty("must not hold empty secrets")),
    "must be a JSON array of secrets",
  ),
  v.nonEmpty("must hold at least one secret"),
  // Each is tried against every signature a request carries: a rotation needs two.
  v.maxLength(MAX_SIGNING_SECRETS, `must hold at most ${MAX_SIGNING_SECRETS} secrets`),
);

const EnvObjectSchema = v.object(
  {
    TARGET_CLIENT_CODE: v.pipe(v.string("is required (a var in wrangler.toml)"), ClientCodeSchema),
    TARGET_UPSTREAM: v.optional(v.picklist(["target", "emulator"], 'must be "target" or "emulator"'), "target"),
    TARGET_TOKEN: v.optional(v.pipe(v.string("must be a string"), v.nonEmpty("must not be empty"))),
    TARGET_EMULATOR_SEED: v.optional(list(thirdPartyIdSchema("each seed id"), "comma-separated mbox3rdPartyIds")),
    TARGET_EMULATOR_VISIBILITY_DELAY: v.optional(VisibilityDelaySchema),
    TARGET_EMULATOR_CONSECUTIVE_BATCHES: v.optional(v.picklist(["merge", "replace"], 'must be "merge" or "replace"')),
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
    RELAY_RATE_LIMIT: binding<RateLimit>("[[ratelimits]]", (value) => typeof value.limit === "function"),
    RELAY_DELIVERY: v.optional(v.picklist(DELIVERY_MODES, `must be ${oneOf(DELIVERY_MODES)}`), "direct"),
    RELAY_SINGLE_UPDATE_SHARE: v.optional(share, DEFAULT_SINGLE_UPDATE_SHARE),
    RELAY_REALTIME_CALLS_PER_DAY: v.optional(wholeNumber(1, Number.MAX_SAFE_INTEGER)),
    TARGET_BULK_CALLS_PER_MINUTE: v.optional(
      wholeNumber(1, BULK_CALLS_PER_MINUTE, " (Target's limit)"),
      BULK_CALLS_PER_MINUTE,
    ),
    IDEMPOTENCY_KEYS: durableObject<IdempotencyKeys>(),
    // Every bulk call the relay makes, in every mode, takes a slot of the one budget it keeps.
    TARGET_QUOTAS: durableObject<TargetQuotas>(),
    // Queued delivery's: each is required unless delivery is direct (parseEnv).
    UPDATES_QUEUE: v.optional(queue()),
    DELIVERIES_QUEUE: v.optional(queue()),
    NEWEST_WRITES: v.optional(durableObject<NewestWrites>()),
    DEAD_LETTERS: v.optional(durableObject<DeadLetterStore>()),
    BATCH_LEDGERS: v.optional(durableObject<BatchLedger>()),
    // Realtime delivery's (parseEnv).
    REALTIME_SESSIONS: v.optional(durableObject<RealtimeSessions>()),
  },
  // A var, secret or binding that is not set at all (rather than set to something else).
  (issue) => (issue.path ? "is required (see wrangler.toml)" : "must be the Worker's bindings"),
);

type ParsedVars = v.InferOutput<typeof EnvObjectSchema>;
type EmulatorSetting =
  "TARGET_EMULATOR_SEED" | "TARGET_EMULATOR_VISIBILITY_DELAY" | "TARGET_EMULATOR_CONSECUTIVE_BATCHES";

/** A setting of the local emulator is refused against Target rather than silently ignored. */
const emulatorOnly = (name: EmulatorSetting) =>
  v.forward<ParsedVars, v.PartialCheckIssue<ParsedVars>, [EmulatorSetting]>(
    v.partialCheck<ParsedVars, [["TARGET_UPSTREAM"], [EmulatorSetting]], ParsedVars, string>(
      [["TARGET_UPSTREAM"], [name]],
      (env) => env.TARGET_UPSTREAM === "emulator" || env[name] === undefined,
      'only applies with TARGET_UPSTREAM = "emulator"',
    ),
    [name],
  );

const EnvSchema = v.pipe(
  EnvObjectSchema,
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
  emulatorOnly("TARGET_EMULATOR_SEED"),
  emulatorOnly("TARGET_EMULATOR_VISIBILITY_DELAY"),
  emulatorOnly("TARGET_EMULATOR_CONSECUTIVE_BATCHES"),
);

/** The environment's settings, checked: its vars, secrets and bindings, queued delivery's gathered. */
export type EnvSettings = Omit<
  v.InferOutput<typeof EnvSchema>,
  (typeof QUEUED_BINDINGS)[number] | "REALTIME_SESSIONS" | "RELAY_REALTIME_CALLS_PER_DAY"
> & {
  /** Set when every binding of queued delivery is there (always, unless delivery is direct). */
  readonly queued: QueuedDelivery | undefined;
  /** Set when delivery is realtime. */
  readonly realtime: RealtimeDelivery | undefined;
};

export type ParsedEnv =
  { readonly ok: true; readonly settings: EnvSettings } | { readonly ok: false; readonly problems: readonly string[] };

/**
 * The relay's settings, or every problem with them. A fallback message covers any rule without one of
 * its own, since valibot's defaults quote the input (here, secrets).
 */
export function parseEnv(env: Env): ParsedEnv {
  const parsed = v.safeParse(EnvSchema, env, { message: (issue) => `must be ${issue.expected ?? "valid"}` });
  if (!parsed.success)
    return { ok: false, problems: parsed.issues.map((issue) => `${formatPath(issue.path)}: ${issue.message}`) };
  const {
    UPDATES_QUEUE: updates,
    DELIVERIES_QUEUE: deliveries,
    NEWEST_WRITES: newestWrites,
    DEAD_LETTERS: deadLetters,
    BATCH_LEDGERS: ledgers,
    REALTIME_SESSIONS: sessions,
    RELAY_REALTIME_CALLS_PER_DAY: callsPerDay,
    ...settings
  } = parsed.output;
  const queued =
    updates && deliveries && newestWrites && deadLetters && ledgers
      ? { updates, deliveries, newestWrites, deadLetters, ledgers }
      : undefined;
  const problems: string[] = [];
  const required = (name: string) => `${name}: is required when RELAY_DELIVERY is "${settings.RELAY_DELIVERY}"`;
  if (queued === undefined && settings.RELAY_DELIVERY !== "direct") {
    const missing = QUEUED_BINDINGS.filter((name) => parsed.output[name] === undefined);
    problems.push(...missing.map((name) => `${required(name)} (see wrangler.toml)`));
  }
  const realtime =
    settings.RELAY_DELIVERY === "realtime" && sessions && callsPerDay ? { sessions, callsPerDay } : undefined;
  if (settings.RELAY_DELIVERY === "realtime") {
    if (sessions === undefined) problems.push(`${required("REALTIME_SESSIONS")} (see wrangler.toml)`);
    if (callsPerDay === undefined) {
      problems.push(`${required("RELAY_REALTIME_CALLS_PER_DAY")}: the most billed calls in any rolling 24 hours`);
    }
  }
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, settings: { ...settings, queued, realtime } };
}
