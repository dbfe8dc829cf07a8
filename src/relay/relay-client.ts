// A client for the relay Worker (worker/): for servers that must not hold the Target token. Fetch only,
// so it runs wherever the core runs. Updates are checked here with the relay's own rules (contract.ts)
// before anything is sent; the relay's refusals come back as `TargetRelayError`.
import * as v from "valibot";
import type { BatchStatus } from "../bulk/batch-status.js";
import { concatBytes } from "../internal/bytes.js";
import { functionSchema, httpBaseUrlSchema, milliseconds, nonEmptyString, objectMessage } from "../internal/schemas.js";
import { parseOrThrow } from "../internal/validation.js";
import {
  authorization,
  BatchAnswerSchema,
  BatchStatusAnswerSchema,
  ErrorAnswerSchema,
  importSigningKey,
  ProfileAnswerSchema,
  PathUpdateSchema,
  RELAY_ROUTES,
  RelayBatchIdSchema,
  RelayIdSchema,
  relayPath,
  signatureHeaders,
  UpdateAnswerSchema,
  UpdateProfilesBodySchema,
  type BatchAnswer,
  type ProfileAnswer,
  type RelayProfileUpdate,
  type UpdateAnswer,
} from "./contract.js";
import { isTargetRelayError, TargetRelayError } from "./relay-error.js";

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

export type { RelayProfileUpdate } from "./contract.js";

/**
 * The relay's answer to a single update, naming the path that took it (`via`): a Single Profile
 * Update (`single-update`: Target applies it within the hour, to an existing profile only), the
 * Delivery API (`realtime`: visible at once, the profile created if need be), or the relay's queues
 * (`queued`, with `queued: 1`: sent later). Its RELAY_DELIVERY decides.
 * @example
 * const { requestId, via } = await relay.updateProfile(update);
 */
export type RelayUpdateResult = UpdateAnswer;

/**
 * The relay's answer to a batch: the Target batch it became (`batchId`) and its rows (repeated ids
 * merged); or, when the relay queued the updates instead (it follows the batches up itself), `queued`,
 * how many, and no `batchId`.
 * @example
 * const { batchId, rows } = await relay.updateProfiles(updates);
 */
export type RelayBatchResult = BatchAnswer;

/**
 * A profile read through the relay: attributes by bare name, as Target stores them (strings).
 * @example
 * const tier = (await relay.getProfile("crm-42"))?.attributes["tier"];
 */
export type RelayProfile = ProfileAnswer;

/**
 * A relay client. Create it with `createRelayClient`.
 * @example
 * const relay: RelayClient = createRelayClient({ url: "https://relay.example.com", apiKey });
 */
export interface RelayClient {
  /**
   * Sends one visitor's attributes. Through a Single Profile Update (or the queues), Target applies
   * them only if the profile exists; in real time (a relay whose RELAY_DELIVERY is "realtime"), it
   * creates the profile if need be. The answer's `via` says which path took them.
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

const IdSchema = v.object({ mbox3rdPartyId: RelayIdSchema });
const BatchIdSchema = v.object({ batchId: RelayBatchIdSchema });

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
  const signingKey = config.signingSecret === undefined ? undefined : importSigningKey(config.signingSecret, "sign");

  async function call<TSchema extends v.GenericSchema>(
    method: "GET" | "POST",
    path: string,
    body: unknown,
    answer: TSchema,
  ): Promise<v.InferOutput<TSchema>> {
    const text = body === undefined ? "" : JSON.stringify(body);
    const url = config.url + path;
    const headers: Record<string, string> = { authorization: authorization(config.apiKey), accept: "application/json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    if (signingKey !== undefined) {
      // One buffer of its own (what Web Crypto takes in every runtime's typings).
      const bytes = concatBytes(encoder.encode(text));
      Object.assign(headers, await signatureHeaders(await signingKey, { method, url, body: bytes }));
    }
    const signal = config.timeout > 0 ? AbortSignal.timeout(config.timeout) : undefined;
    const request = new Request(url, {
      method,
      headers,
      ...(body !== undefined ? { body: text } : {}),
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
    return result.output;
  }

  return {
    async updateProfile(update) {
      const { mbox3rdPartyId } = parseOrThrow(PathUpdateSchema, update);
      const path = relayPath(RELAY_ROUTES.profile, { mbox3rdPartyId });
      return call("POST", path, { attributes: update.attributes }, UpdateAnswerSchema);
    },

    async updateProfiles(updates) {
      const body = { updates: Array.isArray(updates) ? updates : [...updates] };
      parseOrThrow(UpdateProfilesBodySchema, body);
      return call("POST", RELAY_ROUTES.profiles, body, BatchAnswerSchema);
    },

    async getProfile(mbox3rdPartyId) {
      parseOrThrow(IdSchema, { mbox3rdPartyId });
      try {
        return await call("GET", relayPath(RELAY_ROUTES.profile, { mbox3rdPartyId }), undefined, ProfileAnswerSchema);
      } catch (error) {
        if (isTargetRelayError(error) && error.status === 404 && error.code === "not_found") return undefined;
        throw error;
      }
    },

    async getBatch(batchId) {
      parseOrThrow(BatchIdSchema, { batchId });
      return call("GET", relayPath(RELAY_ROUTES.batch, { batchId }), undefined, BatchStatusAnswerSchema);
    },
  };
}

const encoder = new TextEncoder();

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
