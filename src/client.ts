import * as v from "valibot";
import type { BatchFile } from "./batch-file.js";
import { batchStatusRequest, parseBatchStatus, type BatchRef, type BatchStatus } from "./batch-status.js";
import { batchSubmitRequest, parseBatchSubmission, type BatchSubmission, type BatchVersion } from "./batch-submission.js";
import { updateRequest } from "./build-update-request.js";
import { bulkUpdate, type BulkReport, type BulkUpdateOptions } from "./bulk-update.js";
import { TargetClientOptionsSchema, type TargetClientOptions } from "./client-options.js";
import { isTargetHttpError, TargetResponseError } from "./errors.js";
import { createSend } from "./http.js";
import { parseProfile, profileRequest, type ProfileLookup, type TargetProfile } from "./profile-fetch.js";
import { ProfileUpdateSchema, type ProfileUpdate } from "./profile-update.js";
import { createRollingLimiter } from "./rolling-limiter.js";
import { parseUpdateResponse, type UpdateResult } from "./update-response.js";
import { parseOrThrow } from "./validation.js";
import { waitForBatch, type WaitForBatchOptions } from "./wait-for-batch.js";

/**
 * Per-call options of `updateProfile`.
 * @example
 * await target.updateProfile(update, { signal: AbortSignal.timeout(5_000), method: "POST" });
 */
export interface UpdateProfileOptions {
  /** Stops the call, retries included. */
  readonly signal?: AbortSignal | undefined;
  /** Force a method. Default: GET while the whole URL fits in 8 KB, otherwise POST. */
  readonly method?: "GET" | "POST";
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
  /** 2 (default) creates missing profiles; 1 only updates existing ones. */
  readonly version?: BatchVersion;
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
  readonly details?: boolean;
  /** Which API version's status path to use when the URL is built from a batch id (default 2). */
  readonly version?: BatchVersion;
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
  waitForBatch(batch: BatchRef, options?: WaitForBatchOptions & { readonly version?: BatchVersion }): Promise<BatchStatus>;
  /**
   * Encodes any number of rows into batch files and submits them one by one, within Target's limits.
   * @example
   * const report = await target.bulkUpdate(readRows(), { onProgress: console.log });
   * console.log(report.files, report.rows, report.failedIds);
   */
  bulkUpdate(rows: AsyncIterable<ProfileUpdate> | Iterable<ProfileUpdate>, options?: BulkUpdateOptions): Promise<BulkReport>;
}

const UpdateOptionsSchema = v.optional(
  v.object(
    {
      signal: v.optional(v.custom<AbortSignal>((input) => input instanceof AbortSignal, "signal must be an AbortSignal")),
      method: v.optional(v.picklist(["GET", "POST"], "method must be GET or POST")),
    },
    "options must be an object",
  ),
  {},
);

const VersionSchema = v.optional(v.picklist([1, 2], "version must be 1 or 2"), 2);

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

  const client: TargetClient = {
    async updateProfile(update, callOptions) {
      const { signal, method } = parseOrThrow(UpdateOptionsSchema, callOptions);
      const request = updateRequest(parseOrThrow(ProfileUpdateSchema, update), config, method);
      const response = await send(request, { operation: "updateProfile", signal });
      return parseUpdateResponse(await response.text(), request.method as "GET" | "POST");
    },

    async getProfile(lookup, callOptions) {
      const request = profileRequest(lookup, config);
      try {
        const response = await send(request, { operation: "getProfile", signal: callOptions?.signal });
        const json = await response.json().catch(() => {
          throw new TargetResponseError("the answer is not JSON", "getProfile");
        });
        return parseProfile(json);
      } catch (error) {
        if (isTargetHttpError(error) && error.status === 404) return undefined;
        throw error;
      }
    },

    async submitBatch(file, callOptions = {}) {
      const version = parseOrThrow(VersionSchema, callOptions.version);
      const request = batchSubmitRequest(file, config, version);
      const response = await send(request, { operation: "submitBatch", signal: callOptions.signal, beforeAttempt: limited });
      return parseBatchSubmission(await response.text());
    },

    async getBatchStatus(batch, callOptions = {}) {
      const version = parseOrThrow(VersionSchema, callOptions.version);
      const request = batchStatusRequest(batch, config, { details: callOptions.details ?? false, version });
      const response = await send(request, { operation: "getBatchStatus", signal: callOptions.signal, beforeAttempt: limited });
      return parseBatchStatus(await response.text());
    },

    waitForBatch(batch, waitOptions = {}) {
      const { version } = waitOptions;
      return waitForBatch(
        (signal) => client.getBatchStatus(batch, { details: true, ...(version ? { version } : {}), ...(signal ? { signal } : {}) }),
        waitOptions,
      );
    },

    bulkUpdate(rows, bulkOptions) {
      return bulkUpdate(
        {
          submit: (file, { version, signal }) => client.submitBatch(file, { version, ...(signal ? { signal } : {}) }),
          wait: (submission, waitOptions) => client.waitForBatch(submission, waitOptions),
        },
        rows,
        bulkOptions,
      );
    },
  };
  return client;
}
