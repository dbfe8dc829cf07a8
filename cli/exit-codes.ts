// The command line's exit statuses, and which failures lead to which.
import {
  isTargetBulkUpdateError,
  isTargetHttpError,
  isTargetNetworkError,
  isTargetRejectedError,
  isTargetRelayError,
  isTargetTimeoutError,
} from "target-profile";

/** Every row was accepted and applied (or, for `--check`, every row is valid). */
export const OK = 0;
/** Some rows were rejected or failed, or the input could not be read. */
export const ROWS_FAILED = 1;
/** The command line or the configuration is wrong: nothing was sent. */
export const USAGE = 2;
/** Target (or the relay) could not be reached, or refused the credentials. */
export const UNREACHABLE = 3;

/** A mistake in the command line or the configuration: exit status 2, with its message. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** The exit status a failure stands for. */
export function exitCodeOf(error: unknown): number {
  const cause = isTargetBulkUpdateError(error) ? error.cause : error;
  if (cause instanceof UsageError) return USAGE;
  if (isTargetNetworkError(cause) || isTargetTimeoutError(cause)) return UNREACHABLE;
  if (isTargetHttpError(cause) || isTargetRejectedError(cause)) {
    return cause.status === 401 || cause.status === 403 || cause.status === 429 || cause.status >= 500
      ? UNREACHABLE
      : ROWS_FAILED;
  }
  if (isTargetRelayError(cause)) {
    return cause.status === 0 ||
      cause.status === 401 ||
      cause.status === 403 ||
      cause.status === 429 ||
      cause.status >= 500
      ? UNREACHABLE
      : ROWS_FAILED;
  }
  return ROWS_FAILED;
}
