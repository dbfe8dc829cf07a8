import * as v from "valibot";
import type { BatchBytes, BatchFile } from "../bulk/batch-file.js";
import { batchStatusRequest, parseBatchStatus, type BatchRef, type BatchStatus } from "../bulk/batch-status.js";
import {
  batchSubmitRequest,
  batchVersionFor,
  BatchVersionSchema,
  parseBatchSubmission,
  type BatchSubmission,
  type BatchVersion,
} from "../bulk/batch-submission.js";
import { bulkUpdate, type BulkReport, type BulkRow, type BulkUpdateOptions } from "../bulk/bulk-update.js";
import { waitForBatch, type WaitForBatchOptions } from "../bulk/wait-for-batch.js";
import { TargetHttpError } from "../errors.js";
import { milliseconds, SignalSchema } from "../internal/schemas.js";
import { parseOrThrow } from "../internal/validation.js";
import {
  isProfileNotFound,
  parseProfile,
  profileRequest,
  type ProfileLookup,
  type TargetProfile,
} from "../profile-fetch/profile-fetch.js";
import { ProfileUpdateSchema, type ProfileUpdate } from "../profile-update.js";
import { parseRealtimeUpdate, PropertyTokenSchema } from "../realtime/build-delivery-request.js";
import { createSessionGate } from "../realtime/session-gate.js";
import { createMemorySessionStore } from "../realtime/session-store.js";
import { updateRealtime, type RealtimeResult } from "../realtime/update-profile-realtime.js";
import { MethodSchema, updateRequest } from "../single-update/build-update-request.js";
import { parseUpdateResponse, type UpdateResult } from "../single-update/update-response.js";
import { TargetClientOptionsSchema, type TargetClientOptions } from "./client-options.js";
import { createSend } from "./http.js";
import { createRollingLimiter } from "./rolling-limiter.js";

/**
 * Per-call options of `updateProfile`.
 * @example
 * await target.updateProfile(update, { signal: AbortSignal.timeout(5_000), method: "POST" });
 */
export interface UpdateProfileOptions {
  /** Stops the call, retries included. */
  readonly signal?: AbortSignal | undefined;
  /** Force a method. Default: GET while the whole URL fits in 8 KB, otherwise POST. */
  readonly method?: "GET" | "POST" | undefined;
}

/**
 * Per-call options of `updateProfileRealtime`.
 * @example
 * await target.updateProfileRealtime(update, { signal: AbortSignal.timeout(5_000) });
 */
export interface UpdateProfileRealtimeOptions {
  /** Stops the call, retries and the wait for a turn in the visitor's session included. */
  readonly signal?: AbortSignal | undefined;
  /** An `at_property` token for this call, instead of the client's `propertyToken`. */
  readonly propertyToken?: string | undefined;
}

/**
 * Per-call options of `getProfile`.
 * @example
 * await target.getProfile({ thirdPartyId: "crm-42" }, { signal });
 */
export interface GetProfileOptions {
  /** Stops the call, retries included. */
  readonly signal?: AbortSignal | undefined;
}

/**
 * Per-call options of `submitBatch`.
 * @example
 * await target.submitBatch(file, { version: 1 });
 */
export interface SubmitBatchOptions {
  /** 2 (default) creates missing profiles; 1 only updates existing ones. With `usesEcid`, pcId files always go to 1. */
  readonly version?: BatchVersion | undefined;
  /**
   * Milliseconds each attempt may take, instead of the client's `timeout`: uploading a 50 MB file takes
   * longer than a single update. A timeout is final (not retried): check the batch before resubmitting.
   */
  readonly timeout?: number | undefined;
  /** Stops the call, retries and waits for the bulk limiter included. */
  readonly signal?: AbortSignal | undefined;
}

/**
 * Per-call options of `getBatchStatus`.
 * @example
 * await target.getBatchStatus(submission, { details: true });
 */
export interface BatchStatusOptions {
  /** Ask for the counters and the failed ids (`showDetails=true`). */
  readonly details?: boolean | undefined;
  /** Stops the call, retries and waits for the bulk limiter included. */
  readonly signal?: AbortSignal | undefined;
}

/**
 * A Target Profile API client. Create it with `createTargetClient`.
 * @example
 * const target: TargetClient = createTargetClient({ clientCode: "acme", token });
 */
export interface TargetClient {
  /**
   * Sends one visitor's attributes (Single Profile Update). Resolves once Target accepted them; Target
   * applies them asynchronously and only to profiles that already exist.
   * @example
   * await target.updateProfile({ mbox3rdPartyId: "crm-42", attributes: { tier: "gold", ltv: 1200 } });
   */
  updateProfile(update: ProfileUpdate, options?: UpdateProfileOptions): Promise<UpdateResult>;
  /**
   * Writes one visitor's attributes in real time, through the Delivery API: the profile is created
   * when Target has none, and the edge that served the call sees the values at once. Each mbox (one
   * per 50 attributes) is a billed Target server call. The visitor's session is kept (`sessionStore`)
   * and later calls go to the edge host Target answered from.
   * @example
   * const { tntId, edgeHost } = await target.updateProfileRealtime({ mbox3rdPartyId: "crm-42", attributes: { loan: "approved" } });
   */
  updateProfileRealtime(update: ProfileUpdate, options?: UpdateProfileRealtimeOptions): Promise<RealtimeResult>;
  /**
   * Fetches a profile; `undefined` when Target has none for that id.
   * @example
   * const profile = await target.getProfile({ thirdPartyId: "crm-42" });
   * console.log(profile?.profileAttributes["tier"]?.value);
   */
  getProfile(lookup: ProfileLookup, options?: GetProfileOptions): Promise<TargetProfile | undefined>;
  /**
   * Submits one batch file (from `encodeBatches`, or a body encoded elsewhere).
   * @example
   * for (const file of encodeBatches(rows)) console.log((await target.submitBatch(file)).batchId);
   */
  submitBatch(file: BatchFile | string, options?: SubmitBatchOptions): Promise<BatchSubmission>;
  /**
   * Reads a batch's status once.
   * @example
   * const { status, failedIds } = await target.getBatchStatus(submission, { details: true });
   */
  getBatchStatus(batch: BatchRef, options?: BatchStatusOptions): Promise<BatchStatus>;
  /**
   * Polls a batch's status (with details) until it is `complete` or `stuck`.
   * @example
   * const final = await target.waitForBatch(await target.submitBatch(file));
   */
  waitForBatch(batch: BatchRef, options?: WaitForBatchOptions): Promise<BatchStatus>;
  /**
   * Encodes any number of rows into batch files and submits them one by one, within Target's limits.
   * Rows are updates, or `SourceRow`s from `readCsvRows` / `readNdjsonRows`; with `onInvalidRow`,
   * invalid rows are skipped and reported rather than stopping the run.
   * @example
   * const report = await target.bulkUpdate(readRows(), { onProgress: console.log });
   * console.log(report.files, report.rows, report.failedIds);
   */
  bulkUpdate(
    rows: AsyncIterable<BulkRow> | Iterable<BulkRow> | ReadableStream<BulkRow>,
    options?: BulkUpdateOptions,
  ): Promise<BulkReport>;
}

/** Per-call options: `signal` plus the call's own entries (checked as `options ?? {}`); no others. */
const callOptions = <TEntries extends v.ObjectEntries>(entries: TEntries) => {
  const known = ["signal", ...Object.keys(entries)].join(", ");
  return v.strictObject({ signal: SignalSchema, ...entries }, (issue) =>
    issue.expected === "never" ? `unknown option: this call takes ${known}` : "options must be an object",
  );
};

const UpdateOptionsSchema = callOptions({ method: MethodSchema });
const RealtimeOptionsSchema = callOptions({ propertyToken: v.optional(PropertyTokenSchema) });
const GetProfileOptionsSchema = callOptions({});
const SubmitOptionsSchema = callOptions({
  version: BatchVersionSchema,
  timeout: v.optional(milliseconds("timeout")),
});
const StatusOptionsSchema = callOptions({ details: v.optional(v.boolean("details must be true or false"), false) });

/**
 * Creates a client for one Target account. Options are checked now: an invalid one throws a
 * `TargetValidationError` naming it.
 * @example
 * import { createTargetClient } from "target-profile";
 * const target = createTargetClient({ clientCode: "acme", token: env.TARGET_TOKEN });
 * await target.updateProfile({ mbox3rdPartyId: "crm-42", attributes: { tier: "gold" } });
 */
export function createTargetClient(options: TargetClientOptions): TargetClient {
  const config = parseOrThrow(TargetClientOptionsSchema, options);
  const send = createSend(config);
  // One budget for every bulk call of this client: Target counts them per account.
  const bulkLimiter = createRollingLimiter(config.bulkCallsPerMinute);
  const limited = (signal: AbortSignal | undefined) => bulkLimiter.acquire(signal);
  const realtime = {
    endpoint: config,
    sessions: config.sessionStore ?? createMemorySessionStore(),
    gate: createSessionGate(),
    // 420 (too many requests in one session) is worth another try later; errors are JSON.
    send: async (request: Request, signal: AbortSignal | undefined) =>
      (await send(request, { operation: "updateProfileRealtime", signal, retryStatuses: [420], refusal: "json" })).text,
  };

  // A file's request is built before the first await: a body of bytes may be reused once this returns,
  // or when streamed, once it settles.
  async function submitFile(file: BatchFile | BatchBytes | string, options: SubmitBatchOptions | undefined) {
    const { signal, version, timeout } = parseOrThrow(SubmitOptionsSchema, options ?? {});
    const fileVersion = batchVersionFor(file, version, config.usesEcid);
    const request = batchSubmitRequest(file, config, fileVersion, config.streamUploads);
    const { text } = await send(request, { operation: "submitBatch", signal, timeout, beforeAttempt: limited });
    return parseBatchSubmission(text);
  }

  const client: TargetClient = {
    async updateProfile(update, options) {
      const { signal, method } = parseOrThrow(UpdateOptionsSchema, options ?? {});
      const request = updateRequest(parseOrThrow(ProfileUpdateSchema, update), config, method);
      const { text } = await send(request, { operation: "updateProfile", signal });
      return parseUpdateResponse(text, request.method as "GET" | "POST");
    },

    async updateProfileRealtime(update, options) {
      const { signal, propertyToken = config.propertyToken } = parseOrThrow(RealtimeOptionsSchema, options ?? {});
      const checked = parseRealtimeUpdate(update);
      return updateRealtime(realtime, checked, { mbox: config.realtimeMbox, propertyToken }, signal);
    },

    async getProfile(lookup, options) {
      const { signal } = parseOrThrow(GetProfileOptionsSchema, options ?? {});
      const request = profileRequest(lookup, config);
      const { status, text } = await send(request, { operation: "getProfile", signal, answerStatuses: [404] });
      if (status === 404) {
        // Only Target's own "no profile" answer means none; a proxy's or a wrong path's 404 is an error.
        if (isProfileNotFound(text)) return undefined;
        throw new TargetHttpError(404, { operation: "getProfile", method: "GET" });
      }
      return parseProfile(text);
    },

    submitBatch: (file, options) => submitFile(file, options),

    async getBatchStatus(batch, options) {
      const { signal, details } = parseOrThrow(StatusOptionsSchema, options ?? {});
      const request = batchStatusRequest(batch, config, { details });
      const { text } = await send(request, { operation: "getBatchStatus", signal, beforeAttempt: limited });
      return parseBatchStatus(text);
    },

    waitForBatch(batch, options) {
      return waitForBatch((signal) => client.getBatchStatus(batch, { details: true, signal }), options);
    },

    bulkUpdate(rows, bulkOptions) {
      return bulkUpdate(
        {
          submit: (file, submitOptions) => submitFile(file, submitOptions),
          wait: (submission, waitOptions) => client.waitForBatch(submission, waitOptions),
          streams: config.streamUploads,
        },
        rows,
        bulkOptions,
      );
    },
  };
  return client;
}
