export { createTargetClient } from "./client.js";
export type {
  BatchStatusOptions,
  GetProfileOptions,
  SubmitBatchOptions,
  TargetClient,
  UpdateProfileOptions,
} from "./client.js";
export type { RetryPolicy, TargetClientOptions } from "./client-options.js";
export { buildUpdateRequest, MAX_GET_URL_BYTES, MAX_POST_BODY_BYTES } from "./build-update-request.js";
export type { UpdateRequestOptions } from "./build-update-request.js";
export { parseUpdateResponse } from "./update-response.js";
export type { UpdateResult } from "./update-response.js";
export { buildProfileRequest, parseProfile } from "./profile-fetch.js";
export type { ProfileLookup, TargetProfile } from "./profile-fetch.js";
export type { AttributeValue, IdType, ProfileAttributes, ProfileUpdate } from "./profile-update.js";
export { encodeBatches, encodeBatchesAsync, MAX_BATCH_BYTES, MAX_BATCH_ROWS } from "./encode-batches.js";
export type { BatchFile, EncodeOptions } from "./encode-batches.js";
export { parseBatchSubmission } from "./batch-submission.js";
export type { BatchSubmission, BatchVersion } from "./batch-submission.js";
export { parseBatchStatus } from "./batch-status.js";
export type { BatchRef, BatchStatus } from "./batch-status.js";
export type { WaitForBatchOptions } from "./wait-for-batch.js";
export type { BulkBatch, BulkProgress, BulkReport, BulkUpdateOptions } from "./bulk-update.js";
export {
  isTargetBulkUpdateError,
  isTargetHttpError,
  isTargetNetworkError,
  isTargetProfileError,
  isTargetQuotaError,
  isTargetRejectedError,
  isTargetResponseError,
  isTargetTimeoutError,
  isTargetValidationError,
  TargetBulkUpdateError,
  TargetHttpError,
  TargetNetworkError,
  TargetProfileError,
  TargetQuotaError,
  TargetRejectedError,
  TargetResponseError,
  TargetTimeoutError,
  TargetValidationError,
} from "./errors.js";
export type { TargetOperation, ValidationIssue } from "./errors.js";
export { createRelayClient } from "./relay-client.js";
export type {
  RelayBatchResult,
  RelayClient,
  RelayClientOptions,
  RelayProfile,
  RelayProfileUpdate,
  RelayUpdateResult,
} from "./relay-client.js";
export { isTargetRelayError, TargetRelayError } from "./errors.js";
