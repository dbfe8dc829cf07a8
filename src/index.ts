export { createTargetClient } from "./client.js";
export type { GetProfileOptions, TargetClient, UpdateProfileOptions } from "./client.js";
export type { RetryPolicy, TargetClientOptions } from "./client-options.js";
export { buildUpdateRequest, MAX_GET_URL_BYTES, MAX_POST_BODY_BYTES } from "./build-update-request.js";
export type { UpdateRequestOptions } from "./build-update-request.js";
export { parseUpdateResponse } from "./update-response.js";
export type { UpdateResult } from "./update-response.js";
export { buildProfileRequest, parseProfile } from "./profile-fetch.js";
export type { ProfileLookup, TargetProfile } from "./profile-fetch.js";
export type { AttributeValue, IdType, ProfileAttributes, ProfileUpdate } from "./profile-update.js";
export {
  isTargetHttpError,
  isTargetNetworkError,
  isTargetProfileError,
  isTargetRejectedError,
  isTargetResponseError,
  isTargetTimeoutError,
  isTargetValidationError,
  TargetHttpError,
  TargetNetworkError,
  TargetProfileError,
  TargetRejectedError,
  TargetResponseError,
  TargetTimeoutError,
  TargetValidationError,
} from "./errors.js";
export type { TargetOperation, ValidationIssue } from "./errors.js";
