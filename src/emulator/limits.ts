// Target's documented limits, in the readings docs/target-api.md picks.

/** The whole request URL of a single update, in bytes. */
export const MAX_URL_BYTES = 8192;
/** A single update's POST form body, in bytes (60 KB). */
export const MAX_POST_BYTES = 61_440;
/** A batch body must be smaller than this (50 MB). */
export const MAX_BATCH_BYTES = 50 * 1024 * 1024;
export const MAX_BATCH_ROWS = 500_000;
/** Batch statuses are kept about 24 hours. */
export const BATCH_RETENTION_MS = 24 * 60 * 60 * 1000;
/** ...and only the last 10 of each client. */
export const KEPT_BATCH_STATUSES = 10;
/** Single updates, and separately profile fetches, allowed in any rolling 24 hours. */
export const DAILY_SINGLE_UPDATES = 1_000_000;
export const DAILY_FETCHES = 1_000_000;
export const DAY_MS = 24 * 60 * 60 * 1000;

const MAX_THIRD_PARTY_ID_LENGTH = 256;
const MAX_ATTRIBUTE_NAME_LENGTH = 128;

/** `mbox3rdPartyId`: at most 256 characters, no `+` or `/`. */
// Lengths are UTF-16 code units: Target's services are Java, whose String.length() counts those.
export function isValidThirdPartyId(id: string): boolean {
  return id !== "" && id.length <= MAX_THIRD_PARTY_ID_LENGTH && !/[+/]/.test(id);
}

export function isValidAttributeName(name: string): boolean {
  return name !== "" && name.length <= MAX_ATTRIBUTE_NAME_LENGTH;
}
