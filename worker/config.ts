import * as v from "valibot";
import { ClientCodeSchema } from "../src/client-options.js";
import { isTargetValidationError, MAX_BATCH_ROWS, type TargetClient } from "../src/index.js";
import { AttributeNameSchema, thirdPartyIdSchema } from "../src/profile-update.js";
import { formatPath } from "../src/validation.js";
import type { Env } from "./env.js";
import { digestKeys, RelayKeysSchema, type RelayKey } from "./relay-keys.js";
import { importSigningSecrets } from "./request-signature.js";
import { createUpstream } from "./upstream.js";

/** Everything a request needs, checked once: keys, signing, limits, and the Target client. */
export interface RelayConfig {
  readonly keys: readonly RelayKey[];
  /** Set when requests must be signed. */
  readonly signingSecrets: readonly CryptoKey[] | undefined;
  /** Set when only these attribute names may be sent. */
  readonly allowedAttributes: ReadonlySet<string> | undefined;
  readonly maxBatchRows: number;
  readonly rateLimit: RateLimit;
  readonly target: TargetClient;
}

export type ConfigResult = { readonly ok: true; readonly config: RelayConfig } | { readonly ok: false; readonly problems: readonly string[] };

/** Keys and secrets must be this long against Target; the emulator takes short dev keys. */
const MIN_SECRET_LENGTH = 32;
/** Enough for most pushes, and a bound on the CPU one request may take. */
const DEFAULT_MAX_BATCH_ROWS = 10_000;

/** A secret holding JSON (secrets are always strings). */
const json = <TSchema extends v.GenericSchema<unknown, unknown>>(schema: TSchema, what: string) =>
  v.pipe(v.string(`must be ${what}`), v.parseJson(undefined, `must be ${what}`), schema);

/** A TOML array, or a comma-separated string (as vars set in the dashboard or .dev.vars are). */
const list = <TSchema extends v.GenericSchema<string, unknown>>(item: TSchema, what: string) =>
  v.pipe(
    v.union([v.array(v.string()), v.pipe(v.string(), v.transform((text) => text.split(",").map((entry) => entry.trim())))], `must be ${what}`),
    v.transform((entries) => entries.filter(Boolean)),
    v.array(item),
    v.nonEmpty("must name at least one entry (leave it unset otherwise)"),
  );

const SecretsSchema = v.pipe(
  v.array(v.pipe(v.string("must hold strings"), v.nonEmpty("must not hold empty secrets")), "must be a JSON array of secrets"),
  v.nonEmpty("must hold at least one secret"),
);

const EnvSchema = v.pipe(
  v.object({
    TARGET_CLIENT_CODE: v.pipe(v.string("is required (a var in wrangler.toml)"), ClientCodeSchema),
    TARGET_UPSTREAM: v.optional(v.picklist(["target", "emulator"], 'must be "target" or "emulator"'), "target"),
    TARGET_TOKEN: v.optional(v.pipe(v.string("must be a string"), v.nonEmpty("must not be empty"))),
    TARGET_EMULATOR_SEED: v.optional(list(thirdPartyIdSchema("each seed id"), "comma-separated mbox3rdPartyIds")),
    TARGET_RETRY: v.optional(v.union([v.pipe(v.string(), v.parseJson(undefined, "must be JSON")), v.number(), v.looseObject({})], "must be a retry policy")),
    RELAY_KEYS: json(RelayKeysSchema, "a JSON array of { name, key, scope } (wrangler secret put RELAY_KEYS)"),
    RELAY_SIGNING_SECRETS: v.optional(json(SecretsSchema, "a JSON array of secrets")),
    RELAY_ALLOWED_ATTRIBUTES: v.optional(list(AttributeNameSchema, "a list of attribute names")),
    RELAY_MAX_BATCH_ROWS: v.optional(
      v.pipe(
        v.union([v.number(), v.pipe(v.string(), v.regex(/^\d+$/), v.transform(Number))], "must be a whole number"),
        v.integer("must be a whole number"),
        v.minValue(1, "must be at least 1"),
        v.maxValue(MAX_BATCH_ROWS, `must be at most ${MAX_BATCH_ROWS} (Target's limit)`),
      ),
      DEFAULT_MAX_BATCH_ROWS,
    ),
    RELAY_RATE_LIMIT: v.custom<RateLimit>(
      (binding) => typeof (binding as Partial<RateLimit> | undefined)?.limit === "function",
      "must be a [[ratelimits]] binding (see wrangler.toml)",
    ),
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
        env.TARGET_UPSTREAM === "emulator" || (env.RELAY_SIGNING_SECRETS ?? []).every((secret) => secret.length >= MIN_SECRET_LENGTH),
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
  if (!parsed.success) return { ok: false, problems: parsed.issues.map((issue) => `${formatPath(issue.path)}: ${issue.message}`) };
  const settings = parsed.output;

  let target: TargetClient;
  try {
    target = createUpstream({
      upstream: settings.TARGET_UPSTREAM,
      clientCode: settings.TARGET_CLIENT_CODE,
      token: settings.TARGET_TOKEN,
      retry: settings.TARGET_RETRY,
      seed: settings.TARGET_EMULATOR_SEED ?? [],
    });
  } catch (error) {
    // The client code passed above, so the core can only be refusing the retry policy.
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
      target,
    },
  };
}
