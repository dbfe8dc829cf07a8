import { isTargetHttpError, isTargetProfileError, isTargetValidationError } from "../../src/index.js";

/** Target's bulk budget stayed used up for longer than a delivery waits for it. */
export class BulkBudgetExhaustedError extends Error {
  override name = "BulkBudgetExhaustedError";
}

/**
 * A failure as a reason code for logs and dead letters: the core error's name and Target's HTTP
 * status (`TargetHttpError 503`), never a message (Target's may echo data).
 */
export function failureReason(error: unknown): string {
  if (error instanceof BulkBudgetExhaustedError) return "bulk_budget_exhausted";
  return describeUpstreamFailure(error) ?? "internal_error";
}

/** For the log: which core error, and Target's HTTP status when there was one. */
export function describeUpstreamFailure(error: unknown): string | undefined {
  if (!isTargetProfileError(error) || isTargetValidationError(error)) return undefined;
  return isTargetHttpError(error) ? `${error.name} ${error.status}` : error.name;
}
