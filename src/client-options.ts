import * as v from "valibot";

// A DNS label: Target puts the client code in the host name (CLIENTCODE.tt.omtrdc.net).
const DNS_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
// setTimeout's ceiling: a larger timeout would fire at once.
const MAX_TIMER_MS = 2_147_483_647;

export const ClientCodeSchema = v.pipe(
  v.string("clientCode must be a string"),
  v.regex(
    DNS_LABEL,
    "clientCode must be a DNS label: letters, digits and hyphens, at most 63 characters, no hyphen at either end",
  ),
);

/** An http(s) URL that paths are appended to: no query, no fragment, no trailing slash. */
export const httpBaseUrlSchema = (field: string) =>
  v.pipe(
    v.string(`${field} must be a string`),
    v.url(`${field} must be an absolute URL`),
    v.check((url) => /^https?:$/.test(new URL(url).protocol), `${field} must use http or https`),
    v.check((url) => !url.includes("?") && !url.includes("#"), `${field} must not have a query or a fragment`),
    // Normalized (punycode host, encoded path) and without a trailing slash, so paths append cleanly.
    v.transform((url) => new URL(url).href.replace(/\/+$/, "")),
  );

export const BaseUrlSchema = httpBaseUrlSchema("baseUrl");

/** Where an account's Profile APIs are served. */
export const defaultBaseUrl = (clientCode: string) => `https://${clientCode}.tt.omtrdc.net`;

export const TokenSchema = v.pipe(v.string("token must be a string"), v.nonEmpty("token must not be empty"));

export const milliseconds = (field: string) =>
  v.pipe(
    v.number(`${field} must be a number of milliseconds`),
    v.integer(`${field} must be a whole number of milliseconds`),
    v.minValue(0, `${field} must not be negative`),
    v.maxValue(MAX_TIMER_MS, `${field} must be at most ${MAX_TIMER_MS} ms`),
  );

const RetryObjectSchema = v.strictObject(
  {
    limit: v.optional(
      v.pipe(
        v.number("retry.limit must be a number"),
        v.integer("retry.limit must be a whole number"),
        v.minValue(0, "retry.limit must not be negative"),
      ),
    ),
    baseDelay: v.optional(milliseconds("retry.baseDelay")),
    maxDelay: v.optional(milliseconds("retry.maxDelay")),
    maxRetryAfter: v.optional(milliseconds("retry.maxRetryAfter")),
  },
  (issue) =>
    issue.expected === "never"
      ? "unknown retry option"
      : "retry must be a number or { limit, baseDelay, maxDelay, maxRetryAfter }",
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
      fetch: v.optional(v.custom<FetchLike>((value) => typeof value === "function", "fetch must be a function")),
      timeout: v.optional(milliseconds("timeout"), 10_000),
      retry: v.optional(RetrySchema, DEFAULT_RETRY),
      bulkCallsPerMinute: v.optional(
        v.pipe(
          v.number("bulkCallsPerMinute must be a number"),
          v.integer("bulkCallsPerMinute must be a whole number"),
          v.minValue(1, "bulkCallsPerMinute must be at least 1"),
          v.maxValue(50, "bulkCallsPerMinute must be at most 50 (Target's limit)"),
        ),
        50,
      ),
      usesEcid: v.optional(v.boolean("usesEcid must be true or false"), false),
    },
    (issue) => {
      if (issue.expected === "never") return "unknown option";
      if (issue.path) return "is required";
      return "options must be an object";
    },
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
   * The account identifies anonymous visitors by Experience Cloud ID (ECID). Adobe says not to key a
   * v2 batch file by pcId then, so pcId files go to the v1 batch API (which only updates existing
   * profiles); thirdPartyId files still go to the version asked (default v2). Default false.
   * @example
   * createTargetClient({ clientCode: "acme", usesEcid: true });
   */
  readonly usesEcid?: boolean | undefined;
}

/** The checked options, defaults applied. */
export type ClientConfig = v.InferOutput<typeof TargetClientOptionsSchema>;
