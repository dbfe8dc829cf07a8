// The relay's wire contract, once, for both of its sides: the relay client (relay-client.ts) and the
// Worker (worker/, through src/internal/index.ts). Paths, header names, the key's header, request and
// answer schemas, error codes, and the request signature: a change to the security boundary is made
// here, and both sides follow.
import * as v from "valibot";
import type { BatchStatus } from "../bulk/batch-status.js";
import { fromHex, toHex } from "../internal/bytes.js";
import { objectMessage } from "../internal/schemas.js";
import { ProfileUpdateRulesSchema, thirdPartyIdSchema, type ProfileUpdate } from "../profile-update.js";

// ── Paths ────────────────────────────────────────────────────────────────────────────────────────

/** Every route the relay serves, as a template: `:name` is a parameter, one percent-encoded path segment. */
export const RELAY_ROUTES = {
  healthz: "/healthz",
  /** POST: many updates (one v2 batch, or queued). */
  profiles: "/v1/profiles",
  /** POST: one update (a single update, or queued); GET: the profile. */
  profile: "/v1/profiles/:mbox3rdPartyId",
  /** GET: a batch's status, with its counters and failed ids. */
  batch: "/v1/batches/:batchId",
  /** GET (admin): the dead letters, counted by reason. */
  deadLetters: "/v1/dead-letters",
  /** POST (admin): queue dead letters again. */
  replayDeadLetters: "/v1/dead-letters/replay",
  /** GET, local runs only: what the built-in emulator holds (bench/queue.ts). */
  emulatorStats: "/_emulator/stats",
} as const;

export type RelayRoute = (typeof RELAY_ROUTES)[keyof typeof RELAY_ROUTES];

/** A route's path with its parameters filled in, each percent-encoded as one path segment. */
export function relayPath(template: RelayRoute, params: Readonly<Record<string, string>> = {}): string {
  return template.replace(/:(\w+)/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined) throw new TypeError(`relayPath: no value for :${name}`);
    return encodeURIComponent(value);
  });
}

// ── Headers ──────────────────────────────────────────────────────────────────────────────────────

/** The relay's own headers (besides `Authorization: Bearer KEY`, see `authorization`). */
export const RELAY_HEADERS = {
  /** Unix seconds at which the request was signed. */
  timestamp: "x-relay-timestamp",
  /** `v2=HEX`: the request's signature; several, comma-separated, while secrets rotate. */
  signature: "x-relay-signature",
  /** Makes a write safe to repeat: a repeat within 24 hours gets the first answer back. */
  idempotencyKey: "idempotency-key",
  /** `true` on an answer given back to a repeat. */
  idempotentReplayed: "idempotent-replayed",
  /** The relay's id of the request, on every answer (its log line carries the same). */
  requestId: "x-request-id",
} as const;

/** How a caller presents its relay key. */
export const authorization = (apiKey: string) => `Bearer ${apiKey}`;

const BEARER = /^Bearer +(\S+)$/i;

/** The key an `Authorization` header presents, or `undefined` when it is not `Bearer KEY`. */
export const presentedKey = (header: string) => BEARER.exec(header)?.[1];

// ── Error codes ──────────────────────────────────────────────────────────────────────────────────

/** What went wrong, as the relay says it in its one error shape: `{ "error": { "code", "message", "field"? } }`. */
export const RELAY_ERROR_CODES = [
  "invalid_json",
  "invalid_input",
  "attribute_not_allowed",
  "unauthorized",
  "invalid_signature",
  "forbidden",
  "not_found",
  "method_not_allowed",
  "payload_too_large",
  "unsupported_media_type",
  "rate_limited",
  "idempotency_conflict",
  "idempotency_key_reused",
  "internal_error",
  "upstream_failed",
  "target_quota_exhausted",
  "not_configured",
  "queue_unavailable",
] as const;

/** A code the relay answers with. */
export type RelayErrorCode = (typeof RELAY_ERROR_CODES)[number];

/**
 * A code the relay client reports itself: the relay could not be reached (`network_error`, `timeout`),
 * or something else answered (`http_error`: not the relay's error shape) or answered something else
 * (`invalid_response`).
 */
export type RelayClientErrorCode = "network_error" | "timeout" | "http_error" | "invalid_response";

/**
 * The code of a `TargetRelayError`: the relay's own, or the client's.
 * @example
 * if (isTargetRelayError(error) && error.code === "rate_limited") await sleep(error.retryAfter ?? 60);
 */
export type TargetRelayErrorCode = RelayErrorCode | RelayClientErrorCode;

export const ErrorAnswerSchema = v.object({
  error: v.object({ code: v.picklist(RELAY_ERROR_CODES), message: v.string(), field: v.optional(v.string()) }),
});
export type ErrorAnswer = v.InferOutput<typeof ErrorAnswerSchema>;

// ── Requests ─────────────────────────────────────────────────────────────────────────────────────

type ProfileUpdateInput = v.InferOutput<typeof ProfileUpdateRulesSchema>;

const UNSAFE_NUMBER = `numbers must be within ±${Number.MAX_SAFE_INTEGER} (2^53 − 1): JSON cannot carry a larger integer exactly; send it as a string`;

/**
 * Numbers a JSON body carries exactly: past ±(2^53 − 1), `JSON.parse` has already rounded the integer sent
 * (9007199254740993 arrives as 9007199254740992), so the relay would store another value than was meant.
 */
const exactNumbers = v.rawCheck<ProfileUpdateInput>(({ dataset, addIssue }) => {
  if (!dataset.typed) return;
  const { attributes } = dataset.value;
  for (const [name, value] of Object.entries(attributes)) {
    if (typeof value !== "number" || Math.abs(value) <= Number.MAX_SAFE_INTEGER) continue;
    addIssue({
      message: UNSAFE_NUMBER,
      path: [
        { type: "object", origin: "value", input: dataset.value, key: "attributes", value: attributes },
        { type: "object", origin: "value", input: attributes, key: name, value },
      ],
    });
  }
});

/** An update the relay takes: the core's rules, keyed by `mbox3rdPartyId`, numbers JSON carries exactly; the update itself when valid. */
export const RelayUpdateSchema = v.pipe(
  ProfileUpdateRulesSchema,
  exactNumbers,
  // Exactly one id is there (ProfileUpdateRulesSchema): with this one, the update is a RelayProfileUpdate.
  v.guard(
    (update: ProfileUpdateInput): update is ProfileUpdateInput & RelayProfileUpdate =>
      update.mbox3rdPartyId !== undefined,
    "the relay takes updates keyed by mbox3rdPartyId",
  ),
);

/**
 * An update the relay takes: it keys profiles by `mbox3rdPartyId`.
 * @example
 * const update: RelayProfileUpdate = { mbox3rdPartyId: "crm-42", attributes: { creditBand: "B" } };
 */
export type RelayProfileUpdate = Extract<ProfileUpdate, { readonly mbox3rdPartyId: string }>;

// A visitor id in a path is one path segment, where "." and ".." would mean another path.
const isPathSegment = (id: string) => id !== "." && id !== "..";
const DOT_SEGMENT = 'mbox3rdPartyId must not be "." or ".." here (updateProfiles takes it)';

/** A visitor id in a path (`/v1/profiles/{mbox3rdPartyId}`). */
export const RelayIdSchema = v.pipe(thirdPartyIdSchema("mbox3rdPartyId"), v.check(isPathSegment, DOT_SEGMENT));

/** An update whose id goes in the path (`POST /v1/profiles/{mbox3rdPartyId}`): the update's rules, then the path's. */
export const PathUpdateSchema = v.pipe(
  RelayUpdateSchema,
  v.forward(
    v.partialCheck([["mbox3rdPartyId"]], ({ mbox3rdPartyId }) => isPathSegment(mbox3rdPartyId), DOT_SEGMENT),
    ["mbox3rdPartyId"],
  ),
);

// Target's batch ids look like `acme-1701473848678-13029383`.
export const RelayBatchIdSchema = v.pipe(
  v.string("batchId must be a string"),
  v.regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/, "must be a batch id: letters, digits, '.', '_' or '-'"),
);

/** `POST /v1/profiles/{mbox3rdPartyId}`: the attributes, checked with the id (`RelayUpdateSchema`). */
export const UpdateProfileBodySchema = v.strictObject(
  { attributes: v.unknown() },
  objectMessage("the body must be { attributes }", "unknown field: the body takes only attributes"),
);

const updatesBody = <TItem extends v.GenericSchema>(item: TItem) =>
  v.strictObject(
    {
      updates: v.pipe(
        v.array(item, "must be an array of { mbox3rdPartyId, attributes }"),
        v.nonEmpty("must hold at least one update"),
      ),
    },
    objectMessage("the body must be { updates }", "unknown field: the body takes only updates"),
  );

/** `POST /v1/profiles`: the updates, each checked. */
export const UpdateProfilesBodySchema = updatesBody(RelayUpdateSchema);

/**
 * `POST /v1/profiles` as the relay reads it first: the body's shape, its updates still unchecked. The relay
 * checks them one by one, and stops at the first few bad ones: a 4 MB body of bad updates must not make it
 * list millions of problems.
 */
export const UpdateProfilesShapeSchema = updatesBody(v.unknown());

/** The most dead letters one replay takes. */
export const MAX_REPLAY = 10_000;

/** `POST /v1/dead-letters/replay`. */
export const ReplayBodySchema = v.strictObject(
  {
    limit: v.optional(
      v.pipe(
        v.number("must be a number"),
        v.integer("must be a whole number"),
        v.minValue(1, "must be at least 1"),
        v.maxValue(MAX_REPLAY, `must be at most ${MAX_REPLAY}`),
      ),
      1_000,
    ),
    reason: v.optional(
      v.pipe(v.string("must be a reason code from GET /v1/dead-letters"), v.nonEmpty("must not be empty")),
    ),
  },
  objectMessage("the body must be { limit?, reason? }", "unknown field: the body takes limit and reason"),
);

// ── Answers ──────────────────────────────────────────────────────────────────────────────────────

/**
 * Which path took a single update: a Single Profile Update (Target applies it within the hour, to an
 * existing profile only), the Delivery API (visible at once, the profile created if need be), or the
 * relay's queues (sent later, coalesced with other writes).
 */
export const UPDATE_PATHS = ["single-update", "realtime", "queued"] as const;

/**
 * `202` to a single update: which path took it (`via`), and `queued: 1` when that was the queues.
 * `via` is optional for relays older than it.
 */
export const UpdateAnswerSchema = v.object({
  requestId: v.string(),
  queued: v.optional(v.number()),
  via: v.optional(v.picklist(UPDATE_PATHS)),
});
export type UpdateAnswer = v.InferOutput<typeof UpdateAnswerSchema>;

/** `202` to a batch: the Target batch it became and its rows, or how many updates were queued. */
export const BatchAnswerSchema = v.pipe(
  v.object({
    requestId: v.string(),
    batchId: v.optional(v.string()),
    rows: v.number(),
    queued: v.optional(v.number()),
  }),
  v.check((answer) => answer.batchId !== undefined || answer.queued !== undefined),
);
export type BatchAnswer = v.InferOutput<typeof BatchAnswerSchema>;

/** `200` to a profile read: attributes by bare name, as Target stores them. */
export const ProfileAnswerSchema = v.object({
  mbox3rdPartyId: v.string(),
  modifiedAt: v.optional(v.string()),
  attributes: v.record(v.string(), v.union([v.string(), v.number(), v.boolean()])),
});
export type ProfileAnswer = v.InferOutput<typeof ProfileAnswerSchema>;

const counter = v.optional(v.number());

/** `200` to a batch read: the core's `BatchStatus`, as JSON. */
export const BatchStatusAnswerSchema = v.object({
  batchId: v.string(),
  status: v.picklist(["complete", "incomplete", "stuck"]),
  batchSize: counter,
  consumedCount: counter,
  successfulUpdates: counter,
  profilesNotFound: counter,
  failedUpdates: counter,
  failedIds: v.array(v.string()),
}) satisfies v.GenericSchema<unknown, BatchStatus>;

/** `202` to a replay: how many dead letters were queued again, and how many are left. */
export interface ReplayAnswer {
  readonly requestId: string;
  readonly replayed: number;
  readonly remaining: number;
}

// ── Signing ──────────────────────────────────────────────────────────────────────────────────────
// Optional, when the relay has RELAY_SIGNING_SECRETS: `x-relay-timestamp: TIMESTAMP` (Unix seconds) and
// `x-relay-signature: v2=HEX`, the HMAC-SHA256, with a shared secret, of the request's canonical form:
//
//   TIMESTAMP \n METHOD \n PATH?QUERY \n SHA-256 of the body (lowercase hex)
//
// It binds the whole request: a captured signature is good for that method, path, query and body only,
// for the window. Several `v2=` values may be sent, and several secrets configured, so secrets rotate
// without downtime. docs/relay.md has a worked example to reproduce with openssl.

/** How far a signature's timestamp may be from the relay's clock, either way. */
export const SIGNATURE_WINDOW_SECONDS = 5 * 60;

/** The most signatures one request may carry: a rotation needs two; each costs the relay an HMAC per secret. */
export const MAX_SIGNATURES = 5;

/** The longest `x-relay-signature` the relay reads: MAX_SIGNATURES values (`v2=` and 64 hex digits), with separators. */
export const MAX_SIGNATURE_HEADER_LENGTH = 512;

/** The request a signature is made over. */
export interface SignedRequest {
  readonly method: string;
  /** The URL as sent: its path and query string are signed (its origin is not). */
  readonly url: string;
  /** The body's raw bytes (empty for a GET). */
  readonly body: Uint8Array<ArrayBuffer>;
}

const TIMESTAMP = /^\d{1,15}$/;
const SIGNATURE = /^v2=([0-9a-f]{64})$/i;
const OLD_SIGNATURE = /^v1=/i;
const encoder = new TextEncoder();

/** An HMAC-SHA256 key for a signing secret: `sign` for the client, `verify` for the relay. */
export function importSigningKey(secret: string, usage: "sign" | "verify"): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [usage]);
}

/**
 * What a signature is the HMAC of: the timestamp, the method, the path with its query string (as sent,
 * percent-encoded, `?` included when there is a query) and the SHA-256 of the body, one per line.
 * The body is hashed once, however many signatures and secrets are tried against it.
 * @example
 * await canonicalRequest("1732420000", { method: "GET", url: "https://relay.example/v1/profiles/crm-42", body: new Uint8Array() });
 * // "1732420000\nGET\n/v1/profiles/crm-42\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
 */
export async function canonicalRequest(timestamp: string, request: SignedRequest): Promise<string> {
  const { pathname, search } = new URL(request.url);
  const bodyHash = toHex(await crypto.subtle.digest("SHA-256", request.body));
  return `${timestamp}\n${request.method}\n${pathname}${search}\n${bodyHash}`;
}

/** The headers that sign `request` with `key`, made at `now`. */
export async function signatureHeaders(
  key: CryptoKey,
  request: SignedRequest,
  now = Date.now(),
): Promise<Record<string, string>> {
  const timestamp = String(Math.floor(now / 1000));
  const mac = await crypto.subtle.sign("HMAC", key, encoder.encode(await canonicalRequest(timestamp, request)));
  return { [RELAY_HEADERS.timestamp]: timestamp, [RELAY_HEADERS.signature]: `v2=${toHex(mac)}` };
}

/** A request's signature headers, read and checked for form, count, size and window: what the body is then checked against. */
export interface PresentedSignature {
  readonly timestamp: string;
  readonly signatures: readonly Uint8Array<ArrayBuffer>[];
}

/**
 * The signature headers of a request, or why they do not hold, from the headers alone: a request
 * refused here costs no body read and no HMAC. The reasons name the header and the rule, never a value.
 */
export function readSignature(headers: Headers, now = Date.now()): PresentedSignature | string {
  const timestamp = headers.get(RELAY_HEADERS.timestamp);
  const header = headers.get(RELAY_HEADERS.signature);
  if (timestamp === null || header === null) {
    return `missing request signature: send ${RELAY_HEADERS.timestamp} and ${RELAY_HEADERS.signature}`;
  }
  if (!TIMESTAMP.test(timestamp)) return `${RELAY_HEADERS.timestamp} must be Unix seconds`;
  if (Math.abs(now / 1000 - Number(timestamp)) > SIGNATURE_WINDOW_SECONDS) {
    return `${RELAY_HEADERS.timestamp} is more than ${SIGNATURE_WINDOW_SECONDS} seconds from the relay's clock`;
  }
  if (header.length > MAX_SIGNATURE_HEADER_LENGTH) {
    return `${RELAY_HEADERS.signature} must be at most ${MAX_SIGNATURE_HEADER_LENGTH} characters`;
  }
  const parts = header.split(",").map((part) => part.trim());
  if (parts.length > MAX_SIGNATURES) return `${RELAY_HEADERS.signature} must hold at most ${MAX_SIGNATURES} signatures`;
  if (parts.some((part) => OLD_SIGNATURE.test(part))) {
    return `${RELAY_HEADERS.signature}: v1 signatures (over TIMESTAMP.BODY) are no longer taken: sign with v2 (docs/relay.md)`;
  }
  const signatures = parts.map((part) => SIGNATURE.exec(part)?.[1]);
  if (signatures.some((hex) => hex === undefined)) return `${RELAY_HEADERS.signature} must be v2=<64 hex digits>`;
  return { timestamp, signatures: signatures.map((hex) => fromHex(hex as string)) };
}

/** Whether one of the presented signatures is `request`'s under one of the keys. */
export async function signatureMatches(
  presented: PresentedSignature,
  request: SignedRequest,
  keys: readonly CryptoKey[],
): Promise<boolean> {
  const signed = encoder.encode(await canonicalRequest(presented.timestamp, request));
  // crypto.subtle.verify compares in constant time; each check is one HMAC of a short text.
  for (const signature of presented.signatures) {
    for (const key of keys) {
      if (await crypto.subtle.verify("HMAC", key, signature, signed)) return true;
    }
  }
  return false;
}

/**
 * Why a request's signature does not hold, or `undefined` when one of its signatures matches one of
 * the keys within the window. The reasons name the header and the rule, never a value.
 */
export async function signatureProblem(
  headers: Headers,
  request: SignedRequest,
  keys: readonly CryptoKey[],
  now = Date.now(),
): Promise<string | undefined> {
  const presented = readSignature(headers, now);
  if (typeof presented === "string") return presented;
  return (await signatureMatches(presented, request, keys)) ? undefined : "the request signature does not match";
}
