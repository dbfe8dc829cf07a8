import * as v from "valibot";
import { BaseUrlSchema, ClientCodeSchema, defaultBaseUrl, TokenSchema } from "../internal/endpoint.js";
import { functionSchema, milliseconds, objectMessage, wholeNumber } from "../internal/schemas.js";
import { BULK_CALLS_PER_MINUTE } from "../limits.js";
import { DEFAULT_REALTIME_MBOX, mboxNameSchema, PropertyTokenSchema } from "../realtime/build-delivery-request.js";
import { SessionStoreSchema } from "../realtime/session-store.js";
import type { RealtimeSessionStore } from "../realtime/session-store.js";

const RetryObjectSchema = v.strictObject(
  {
    limit: v.optional(wholeNumber("retry.limit", 0)),
    baseDelay: v.optional(milliseconds("retry.baseDelay")),
    maxDelay: v.optional(milliseconds("retry.maxDelay")),
    maxRetryAfter: v.optional(milliseconds("retry.maxRetryAfter")),
  },
  objectMessage("retry must be a number or { limit, baseDelay, maxDelay, maxRetryAfter }", "unknown retry option"),
);

/**
 * How failed attempts are retried: network errors, 429 and 5xx, with exponential backoff and jitter.
 * @example
 * createTargetClient({ clientCode: "acme", retry: { limit: 4, baseDelay: 500 } });
 */
export interface RetryPolicy {
  /** Retries after the first attempt (default 2). */
  readonly limit: number;
  /** The first backoff in ms, doubled on each retry, with jitter (default 300). */
  readonly baseDelay: number;
  /** The longest backoff in ms (default 10,000). */
  readonly maxDelay: number;
  /** The longest `Retry-After` honoured, in ms (default 60,000). */
  readonly maxRetryAfter: number;
}

const DEFAULT_RETRY: RetryPolicy = { limit: 2, baseDelay: 300, maxDelay: 10_000, maxRetryAfter: 60_000 };

const RetrySchema = v.pipe(
  // Chosen by type rather than a union, so an object's errors name the exact retry option.
  v.lazy((retry) =>
    typeof retry === "number"
      ? v.pipe(v.number(), v.integer("retry must be a whole number"), v.minValue(0, "retry must not be negative"))
      : RetryObjectSchema,
  ),
  v.transform((retry): RetryPolicy => {
    if (typeof retry === "number") return { ...DEFAULT_RETRY, limit: retry };
    const given = Object.entries(retry).filter(([, value]) => value !== undefined);
    return { ...DEFAULT_RETRY, ...Object.fromEntries(given) };
  }),
);

type FetchLike = (input: Request, init?: RequestInit) => Promise<Response>;

export const TargetClientOptionsSchema = v.pipe(
  v.strictObject(
    {
      clientCode: ClientCodeSchema,
      token: v.optional(TokenSchema),
      baseUrl: v.optional(BaseUrlSchema),
      fetch: v.optional(functionSchema<FetchLike>("fetch")),
      timeout: v.optional(milliseconds("timeout"), 10_000),
      retry: v.optional(RetrySchema, DEFAULT_RETRY),
      bulkCallsPerMinute: v.optional(
        v.pipe(
          wholeNumber("bulkCallsPerMinute", 1),
          v.maxValue(
            BULK_CALLS_PER_MINUTE,
            `bulkCallsPerMinute must be at most ${BULK_CALLS_PER_MINUTE} (Target's limit)`,
          ),
        ),
        BULK_CALLS_PER_MINUTE,
      ),
      realtimeMbox: v.optional(mboxNameSchema("realtimeMbox"), DEFAULT_REALTIME_MBOX),
      propertyToken: v.optional(PropertyTokenSchema),
      sessionStore: v.optional(SessionStoreSchema),
      usesEcid: v.optional(v.boolean("usesEcid must be true or false"), false),
      streamUploads: v.optional(v.boolean("streamUploads must be true or false"), false),
    },
    objectMessage("options must be an object", "unknown option"),
  ),
  v.transform((options) => ({
    ...options,
    baseUrl: options.baseUrl ?? defaultBaseUrl(options.clientCode),
  })),
);

/**
 * Options of `createTargetClient`.
 * @example
 * const options: TargetClientOptions = { clientCode: "acme", token: env.TARGET_TOKEN, timeout: 5_000, retry: 3 };
 */
export interface TargetClientOptions {
  /** The account's client code (Administration > Implementation): a DNS label such as `acme`. */
  readonly clientCode: string;
  /** The profile API token, sent as `Authorization: Bearer TOKEN` (needed when "Require Authentication" is on). */
  readonly token?: string | undefined;
  /** Where Target is reached; default `https://CLIENTCODE.tt.omtrdc.net`. */
  readonly baseUrl?: string | undefined;
  /** The fetch to use: an emulator's, a test double, or a custom transport. Default: the global fetch. */
  readonly fetch?: ((input: Request, init?: RequestInit) => Promise<Response>) | undefined;
  /** Milliseconds each attempt may take (default 10,000). */
  readonly timeout?: number | undefined;
  /** Retries after the first attempt (a number) or the whole policy. Default `{ limit: 2, baseDelay: 300, maxDelay: 10000, maxRetryAfter: 60000 }`. */
  readonly retry?: number | Partial<RetryPolicy> | undefined;
  /** Bulk API calls (submits and status checks) allowed in any rolling minute (default and maximum 50). */
  readonly bulkCallsPerMinute?: number | undefined;
  /**
   * The mbox real-time writes carry attributes in (default `target-profile-sync`): a name no activity
   * uses, so that the write changes the profile and nothing else.
   * @example
   * createTargetClient({ clientCode: "acme", realtimeMbox: "crm-sync" });
   */
  readonly realtimeMbox?: string | undefined;
  /**
   * An `at_property` token for real-time writes, to scope them to a workspace (Target Premium).
   * @example
   * createTargetClient({ clientCode: "acme", propertyToken: "08b62abd-c3e7-dfb3-da93-2f8ff0f4f5b0" });
   */
  readonly propertyToken?: string | undefined;
  /**
   * Where real-time writes keep each visitor's Delivery API session. Default: this client's own
   * memory, at most 10,000 sessions (`createMemorySessionStore`). Share one store between the
   * processes that write the same visitors.
   * @example
   * createTargetClient({ clientCode: "acme", sessionStore: createMemorySessionStore({ maxSessions: 50_000 }) });
   */
  readonly sessionStore?: RealtimeSessionStore | undefined;
  /**
   * The account identifies anonymous visitors by Experience Cloud ID (ECID). Adobe says not to key a
   * v2 batch file by pcId then, so pcId files go to the v1 batch API (which only updates existing
   * profiles); thirdPartyId files still go to the version asked (default v2). Default false.
   * @example
   * createTargetClient({ clientCode: "acme", usesEcid: true });
   */
  readonly usesEcid?: boolean | undefined;
  /**
   * `bulkUpdate` sends each batch file as a stream of the encoder's own bytes, with its
   * `Content-Length`, instead of copying it into the request: a file (up to 50 MB) less in memory.
   * Only for a fetch that streams a request body over HTTP/1.1 with the length given, as Node's and
   * Bun's do (the `target-profile` command line turns it on); Deno's sends it chunked and browsers
   * refuse it, so leave it off there. The encoder then fills two buffers per id type in turn: an input
   * mixing customer ids and pcIds holds up to four files. Default false.
   * @example
   * createTargetClient({ clientCode: "acme", token, streamUploads: true });
   */
  readonly streamUploads?: boolean | undefined;
}

/** The checked options, defaults applied. */
export type ClientConfig = v.InferOutput<typeof TargetClientOptionsSchema>;
