import * as v from "valibot";
import type { BatchStatus } from "../bulk/batch-status.js";
import { isTargetRelayError, TargetRelayError } from "../errors.js";
import { toHex } from "../internal/bytes.js";
import { ProfileUpdateSchema, thirdPartyIdSchema, type ProfileUpdate } from "../profile-update.js";
import { functionSchema, httpBaseUrlSchema, milliseconds, nonEmptyString, objectMessage } from "../internal/schemas.js";
import { parseOrThrow } from "../internal/validation.js";

/**
 * A client for the relay Worker (worker/): for servers that must not hold the Target token. Fetch
 * only, so it runs wherever the core runs. Updates are checked here with the core's rules before
 * anything is sent; the relay's refusals come back as `TargetRelayError`.
 */

/** Request signing headers: `x-relay-signature: v1=HEX` is the HMAC-SHA256 of `TIMESTAMP.BODY`. */
export const RELAY_TIMESTAMP_HEADER = "x-relay-timestamp";
export const RELAY_SIGNATURE_HEADER = "x-relay-signature";

/**
 * Options of `createRelayClient`.
 * @example
 * const options: RelayClientOptions = { url: "https://relay.example.com", apiKey: env.RELAY_KEY };
 */
export interface RelayClientOptions {
  /** Where the relay is served, e.g. `https://relay.example.com`. */
  readonly url: string;
  /** A relay key: write-scoped to send updates, read-scoped to read profiles. */
  readonly apiKey: string;
  /** One of the relay's `RELAY_SIGNING_SECRETS`, when it requires signed requests. */
  readonly signingSecret?: string | undefined;
  /** Milliseconds a call may take (default 10,000; 0 for no limit). */
  readonly timeout?: number | undefined;
  /** The fetch to use (default: the global fetch). */
  readonly fetch?: ((input: Request) => Promise<Response>) | undefined;
}

/**
 * An update the relay takes: it keys profiles by `mbox3rdPartyId`.
 * @example
 * const update: RelayProfileUpdate = { mbox3rdPartyId: "crm-42", attributes: { creditBand: "B" } };
 */
export type RelayProfileUpdate = Extract<ProfileUpdate, { readonly mbox3rdPartyId: string }>;

/**
 * The relay's answer to a single update: Target accepted it (and applies it asynchronously).
 * @example
 * const { requestId } = await relay.updateProfile(update);
 */
export interface RelayUpdateResult {
  readonly requestId: string;
  /** 1 when the relay queued the update instead (its RELAY_DELIVERY is "queue" or "auto"). */
  readonly queued?: number | undefined;
}

/**
 * The relay's answer to a batch: the Target batch it became, and its rows (repeated ids merged).
 * @example
 * const { batchId, rows } = await relay.updateProfiles(updates);
 */
export interface RelayBatchResult {
  readonly requestId: string;
  /** The Target batch; absent when the relay queued the updates instead (it follows the batches up itself). */
  readonly batchId?: string | undefined;
  readonly rows: number;
  /** How many updates the relay queued, when its RELAY_DELIVERY is "queue" or "auto". */
  readonly queued?: number | undefined;
}

/**
 * A profile read through the relay: attributes by bare name, as Target stores them (strings).
 * @example
 * const tier = (await relay.getProfile("crm-42"))?.attributes["tier"];
 */
export interface RelayProfile {
  readonly mbox3rdPartyId: string;
  readonly modifiedAt?: string | undefined;
  readonly attributes: Readonly<Record<string, string | number | boolean>>;
}

/**
 * A relay client. Create it with `createRelayClient`.
 * @example
 * const relay: RelayClient = createRelayClient({ url: "https://relay.example.com", apiKey });
 */
export interface RelayClient {
  /**
   * Sends one visitor's attributes; Target applies them only if the profile exists.
   * @example
   * await relay.updateProfile({ mbox3rdPartyId: "crm-42", attributes: { tier: "gold", ltv: 1200 } });
   */
  updateProfile(update: RelayProfileUpdate): Promise<RelayUpdateResult>;
  /**
   * Sends many visitors' attributes as one Target batch, which also creates missing profiles.
   * @example
   * const { batchId } = await relay.updateProfiles([{ mbox3rdPartyId: "crm-1", attributes: { tier: "gold" } }]);
   */
  updateProfiles(updates: Iterable<RelayProfileUpdate>): Promise<RelayBatchResult>;
  /**
   * Reads a profile (needs a read-scoped key); `undefined` when Target has none.
   * @example
   * const tier = (await relay.getProfile("crm-42"))?.attributes["tier"];
   */
  getProfile(mbox3rdPartyId: string): Promise<RelayProfile | undefined>;
  /**
   * Reads a batch's status, with its counters and failed ids.
   * @example
   * const { status, failedIds } = await relay.getBatch(batchId);
   */
  getBatch(batchId: string): Promise<BatchStatus>;
}

const RelayClientOptionsSchema = v.strictObject(
  {
    url: httpBaseUrlSchema("url"),
    apiKey: nonEmptyString("apiKey"),
    signingSecret: v.optional(nonEmptyString("signingSecret")),
    timeout: v.optional(milliseconds("timeout"), 10_000),
    fetch: v.optional(functionSchema<(input: Request) => Promise<Response>>("fetch")),
  },
  objectMessage("options must be an object", "unknown option"),
);

const RelayUpdateSchema = v.pipe(
  ProfileUpdateSchema,
  v.check((update) => update.idType === "thirdPartyId", "the relay takes updates keyed by mbox3rdPartyId"),
);
const UpdatesSchema = v.object({
  updates: v.pipe(
    v.array(RelayUpdateSchema, "updates must be an iterable of updates"),
    v.nonEmpty("updates must hold at least one update"),
  ),
});
// An id in a relay path is a path segment, where "." and ".." would mean another path.
const IdSchema = v.object({
  mbox3rdPartyId: v.pipe(
    thirdPartyIdSchema("mbox3rdPartyId"),
    v.check((id) => id !== "." && id !== "..", 'mbox3rdPartyId must not be "." or ".." here (updateProfiles takes it)'),
  ),
});
const BatchIdSchema = v.object({
  batchId: v.pipe(v.string("batchId must be a string"), v.nonEmpty("batchId must not be empty")),
});

// The relay's answers.
const UpdateAnswerSchema = v.object({ requestId: v.string(), queued: v.optional(v.number()) });
const BatchAnswerSchema = v.pipe(
  v.object({
    requestId: v.string(),
    batchId: v.optional(v.string()),
    rows: v.number(),
    queued: v.optional(v.number()),
  }),
  v.check((answer) => answer.batchId !== undefined || answer.queued !== undefined),
);
const ProfileAnswerSchema = v.object({
  mbox3rdPartyId: v.string(),
  modifiedAt: v.optional(v.string()),
  attributes: v.record(v.string(), v.union([v.string(), v.number(), v.boolean()])),
});
const counter = v.optional(v.number());
const BatchStatusAnswerSchema = v.object({
  batchId: v.string(),
  status: v.picklist(["complete", "incomplete", "stuck"]),
  batchSize: counter,
  consumedCount: counter,
  successfulUpdates: counter,
  profilesNotFound: counter,
  failedUpdates: counter,
  failedIds: v.array(v.string()),
});
const ErrorAnswerSchema = v.object({
  error: v.object({ code: v.string(), message: v.string(), field: v.optional(v.string()) }),
});

/**
 * Creates a client for a relay. Options are checked now: an invalid one throws a
 * `TargetValidationError` naming it.
 * @example
 * import { createRelayClient } from "target-profile";
 * const relay = createRelayClient({ url: "https://relay.example.com", apiKey: env.RELAY_KEY });
 * await relay.updateProfile({ mbox3rdPartyId: "crm-42", attributes: { tier: "gold" } });
 */
export function createRelayClient(options: RelayClientOptions): RelayClient {
  const config = parseOrThrow(RelayClientOptionsSchema, options);
  const signingKey =
    config.signingSecret === undefined
      ? undefined
      : crypto.subtle.importKey("raw", encoder.encode(config.signingSecret), { name: "HMAC", hash: "SHA-256" }, false, [
          "sign",
        ]);

  async function call<TSchema extends v.GenericSchema>(
    method: "GET" | "POST",
    path: string,
    body: unknown,
    answer: TSchema,
  ) {
    const text = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = { authorization: `Bearer ${config.apiKey}`, accept: "application/json" };
    if (text !== undefined) headers["content-type"] = "application/json";
    if (signingKey !== undefined) Object.assign(headers, await signature(await signingKey, text ?? ""));
    const signal = config.timeout > 0 ? AbortSignal.timeout(config.timeout) : undefined;
    const request = new Request(config.url + path, {
      method,
      headers,
      ...(text !== undefined ? { body: text } : {}),
      ...(signal ? { signal } : {}),
    });

    let response: Response;
    try {
      response = await (config.fetch ?? globalThis.fetch)(request);
    } catch {
      // The transport's own error may name the URL, which holds the id: it is dropped.
      if (signal?.aborted)
        throw new TargetRelayError(0, "timeout", `the relay did not answer within ${config.timeout} ms`);
      throw new TargetRelayError(0, "network_error", "the relay could not be reached");
    }
    const json: unknown = await response.json().catch(() => undefined);
    if (!response.ok) throw relayFailure(response, json);
    const result = v.safeParse(answer, json);
    if (!result.success)
      throw new TargetRelayError(
        response.status,
        "invalid_response",
        "the relay's answer does not have the documented shape",
      );
    return result.output as v.InferOutput<TSchema>;
  }

  return {
    async updateProfile(update) {
      const { id } = parseOrThrow(RelayUpdateSchema, update);
      parseOrThrow(IdSchema, { mbox3rdPartyId: id });
      return call(
        "POST",
        `/v1/profiles/${encodeURIComponent(id)}`,
        { attributes: update.attributes },
        UpdateAnswerSchema,
      );
    },

    async updateProfiles(updates) {
      const list = Array.isArray(updates) ? updates : [...updates];
      parseOrThrow(UpdatesSchema, { updates: list });
      return call("POST", "/v1/profiles", { updates: list }, BatchAnswerSchema);
    },

    async getProfile(mbox3rdPartyId) {
      parseOrThrow(IdSchema, { mbox3rdPartyId });
      try {
        return await call("GET", `/v1/profiles/${encodeURIComponent(mbox3rdPartyId)}`, undefined, ProfileAnswerSchema);
      } catch (error) {
        if (isTargetRelayError(error) && error.status === 404 && error.code === "not_found") return undefined;
        throw error;
      }
    },

    async getBatch(batchId) {
      parseOrThrow(BatchIdSchema, { batchId });
      return call("GET", `/v1/batches/${encodeURIComponent(batchId)}`, undefined, BatchStatusAnswerSchema);
    },
  };
}

const encoder = new TextEncoder();

async function signature(key: CryptoKey, body: string): Promise<Record<string, string>> {
  const timestamp = String(Math.floor(Date.now() / 1000));
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(`${timestamp}.${body}`)));
  return { [RELAY_TIMESTAMP_HEADER]: timestamp, [RELAY_SIGNATURE_HEADER]: `v1=${toHex(mac)}` };
}

/** The relay's JSON error, or (from something in between, say a proxy) just the status. */
function relayFailure(response: Response, json: unknown): TargetRelayError {
  const retryAfter = Number(response.headers.get("retry-after") ?? Number.NaN);
  const details = Number.isFinite(retryAfter) ? { retryAfter } : {};
  const parsed = v.safeParse(ErrorAnswerSchema, json);
  if (!parsed.success)
    return new TargetRelayError(response.status, "http_error", `the relay answered HTTP ${response.status}`, details);
  const { code, message, field } = parsed.output.error;
  return new TargetRelayError(response.status, code, message, { ...details, field });
}
