export { createTargetClient } from "./client/client.js";
export type {
  BatchStatusOptions,
  GetProfileOptions,
  SubmitBatchOptions,
  TargetClient,
  UpdateProfileOptions,
  UpdateProfileRealtimeOptions,
} from "./client/client.js";
export type { RetryPolicy, TargetClientOptions } from "./client/client-options.js";
export { buildUpdateRequest } from "./single-update/build-update-request.js";
export type { UpdateRequestOptions } from "./single-update/build-update-request.js";
export { parseUpdateResponse } from "./single-update/update-response.js";
export type { UpdateResult } from "./single-update/update-response.js";
export { buildDeliveryRequest } from "./realtime/build-delivery-request.js";
export type { DeliveryRequestOptions } from "./realtime/build-delivery-request.js";
export { parseDeliveryResponse } from "./realtime/delivery-response.js";
export type { DeliveryResult } from "./realtime/delivery-response.js";
export { createMemorySessionStore } from "./realtime/session-store.js";
export type { MemorySessionStoreOptions, RealtimeSession, RealtimeSessionStore } from "./realtime/session-store.js";
export type { RealtimeResult } from "./realtime/update-profile-realtime.js";
export { buildProfileRequest, parseProfile } from "./profile-fetch/profile-fetch.js";
export type { ProfileLookup, TargetProfile } from "./profile-fetch/profile-fetch.js";
export type { AttributeValue, IdType, ProfileAttributes, ProfileUpdate } from "./profile-update.js";
export { encodeBatches, encodeBatchesAsync } from "./bulk/encode-batches.js";
export type { BatchFile, BatchInput, EncodeOptions } from "./bulk/encode-batches.js";
export { parseBatchSubmission } from "./bulk/batch-submission.js";
export type { BatchSubmission, BatchVersion } from "./bulk/batch-submission.js";
export { parseBatchStatus } from "./bulk/batch-status.js";
export type { BatchRef, BatchStatus } from "./bulk/batch-status.js";
export type { WaitForBatchOptions } from "./bulk/wait-for-batch.js";
export { isTargetBulkUpdateError, TargetBulkUpdateError } from "./bulk/bulk-update.js";
export type {
  BulkBatch,
  BulkBatchEvent,
  BulkProgress,
  BulkReport,
  BulkRow,
  BulkUpdateOptions,
  InvalidRow,
  PendingBatch,
} from "./bulk/bulk-update.js";
export { checkProfileUpdate } from "./bulk/check-profile-update.js";
export { readCsvRows } from "./bulk/csv-rows.js";
export type { RowSourceOptions } from "./bulk/csv-rows.js";
export { readNdjsonRows } from "./bulk/ndjson-rows.js";
export type { SourceRow } from "./bulk/source-row.js";
export type { TextInput } from "./bulk/text-chunks.js";
export {
  isTargetHttpError,
  isTargetNetworkError,
  isTargetProfileError,
  isTargetQuotaError,
  isTargetRejectedError,
  isTargetResponseError,
  isTargetTimeoutError,
  isTargetValidationError,
  TargetHttpError,
  TargetNetworkError,
  TargetProfileError,
  TargetQuotaError,
  TargetRejectedError,
  TargetResponseError,
  TargetTimeoutError,
  TargetValidationError,
} from "./errors.js";
export type { NetworkFailureKind, TargetOperation, ValidationIssue } from "./errors.js";
export { createRelayClient } from "./relay/relay-client.js";
export type {
  RelayBatchResult,
  RelayClient,
  RelayClientOptions,
  RelayProfile,
  RelayProfileUpdate,
  RelayUpdateResult,
} from "./relay/relay-client.js";
export { isTargetRelayError, TargetRelayError } from "./relay/relay-error.js";
export type { RelayClientErrorCode, RelayErrorCode, TargetRelayErrorCode } from "./relay/contract.js";
export {
  BATCH_STATUS_RETENTION_MS,
  BULK_CALL_WINDOW_MS,
  BULK_CALLS_PER_MINUTE,
  DAILY_QUOTA_WINDOW_MS,
  FETCHES_PER_DAY,
  KEPT_BATCH_STATUSES,
  MAX_BATCH_BYTES,
  MAX_BATCH_ROWS,
  MAX_CONCURRENT_SESSION_REQUESTS,
  MAX_GET_URL_BYTES,
  MAX_ID_LENGTH,
  MAX_MBOX_NAME_LENGTH,
  MAX_NAME_LENGTH,
  MAX_POST_BODY_BYTES,
  MAX_PROFILE_PARAMETERS_PER_MBOX,
  MAX_REALTIME_VALUE_LENGTH,
  MAX_SESSION_ID_LENGTH,
  MAX_TNT_ID_LENGTH,
  REALTIME_SESSION_MS,
  SINGLE_UPDATES_PER_DAY,
} from "./limits.js";
