import {
  isTargetProfileError,
  isTargetQuotaError,
  isTargetValidationError,
  type ValidationIssue,
} from "../../src/index.js";
import { RelayError } from "../relay-error.js";

// Enough to fix a request; a 10,000-row batch could otherwise list 10,000 problems.
const MAX_LISTED_ISSUES = 5;

/**
 * Any failure as the caller sees it: the core's validation errors are the caller's (400, naming
 * the field); Target's used-up quota is 503 with its Retry-After; any other core error means Target failed after the core's retries (502, saying
 * nothing of Target's answer, which may echo personal data); anything else is a bug (500).
 */
export function toRelayError(error: unknown): RelayError {
  if (error instanceof RelayError) return error;
  if (isTargetValidationError(error)) return invalidInput(error.issues);
  // Not Target failing: the account's rolling 24-hour quota is used up; the caller may try again after the wait.
  if (isTargetQuotaError(error)) {
    return new RelayError(
      503,
      "target_quota_exhausted",
      "Adobe Target's quota for this call is used up: try again later",
      {
        headers: { "retry-after": String(error.retryAfter) },
      },
    );
  }
  if (isTargetProfileError(error)) {
    return new RelayError(502, "upstream_failed", "Adobe Target failed to take the request, after retries");
  }
  return new RelayError(500, "internal_error", "the relay failed unexpectedly");
}

export function invalidInput(issues: readonly ValidationIssue[]): RelayError {
  const listed = issues
    .slice(0, MAX_LISTED_ISSUES)
    .map(({ path, message }) => (path ? `${path}: ${message}` : message));
  const more = issues.length - listed.length;
  const message = listed.join("; ") + (more > 0 ? `; and ${more} more` : "");
  return new RelayError(400, "invalid_input", message, { field: issues[0]?.path || undefined });
}
