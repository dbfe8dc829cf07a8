// The error family of target-profile: the base class, its type guards, and the errors of a call to Target.
// A leaf: it imports nothing of ours, so every module can throw these. The errors that carry a domain's
// own types live beside it (TargetBulkUpdateError in bulk/bulk-update.ts, TargetRelayError in relay/).
//
// Every error is a `TargetProfileError`. None of them carries a `Request`, a URL, headers, an id, an
// attribute value or a token: those are personal data or secrets. They carry what a caller needs to
// decide what to do next: the operation, the HTTP method and status, the field and the rule.

/** The calls the client makes, named in errors instead of URLs (a URL can hold personal data). */
export type TargetOperation =
  "updateProfile" | "updateProfileRealtime" | "getProfile" | "submitBatch" | "getBatchStatus" | "waitForBatch";

/** One broken rule: `path` names the field (e.g. `attributes.tier`), `message` the rule. */
export interface ValidationIssue {
  /** The field, e.g. `attributes.tier`, `[12].mbox3rdPartyId` in a bulk input; `""` for the whole input. */
  readonly path: string;
  /** The rule it broke; never the value. */
  readonly message: string;
}

// A registry-wide brand, so the type guards also work across duplicated copies of the package.
const brand = Symbol.for("target-profile.error");

/**
 * The base class of every error this package throws.
 * @example
 * if (isTargetProfileError(error)) console.error(error.name, error.message);
 */
export class TargetProfileError extends Error {
  override name = "TargetProfileError";
  readonly [brand] = true;
}

/**
 * The input broke one or more rules; nothing was sent.
 * @example
 * try { buildUpdateRequest(update, { clientCode: "acme" }); }
 * catch (error) { if (isTargetValidationError(error)) console.error(error.issues); }
 */
export class TargetValidationError extends TargetProfileError {
  override name = "TargetValidationError";
  readonly issues: readonly ValidationIssue[];

  constructor(issues: readonly ValidationIssue[]) {
    super(issues.map((issue) => (issue.path ? `${issue.path}: ${issue.message}` : issue.message)).join("; "));
    this.issues = issues;
  }
}

interface CallContext {
  readonly operation: TargetOperation;
  readonly method: string;
}

/**
 * Target answered with an HTTP error status (after any retries).
 * @example
 * if (isTargetHttpError(error) && error.status === 401) rotateToken();
 */
export class TargetHttpError extends TargetProfileError {
  override name = "TargetHttpError";
  readonly status: number;
  readonly operation: TargetOperation;
  readonly method: string;

  constructor(status: number, context: CallContext) {
    super(`Target answered HTTP ${status} to ${context.operation} (${context.method})`);
    this.status = status;
    this.operation = context.operation;
    this.method = context.method;
  }
}

/**
 * Target received the call and refused it (`<success>false</success>`), with its own message.
 * @example
 * if (isTargetRejectedError(error)) console.error(error.targetMessage);
 */
export class TargetRejectedError extends TargetProfileError {
  override name = "TargetRejectedError";
  /** Target's own message (at most 200 characters); kept out of `message`, as Target may echo input. */
  readonly targetMessage: string;
  readonly operation: TargetOperation;
  /** The HTTP status of the refusal: 200 when Target said `success=false` in a successful answer. */
  readonly status: number;

  constructor(targetMessage: string, operation: TargetOperation, status = 200) {
    super(`Target rejected ${operation} (HTTP ${status}); see targetMessage`);
    this.targetMessage = targetMessage.slice(0, 200);
    this.operation = operation;
    this.status = status;
  }
}

/**
 * An attempt took longer than the client's `timeout` (timeouts are not retried).
 * @example
 * if (isTargetTimeoutError(error)) console.error(`gave up after ${error.timeout} ms`);
 */
export class TargetTimeoutError extends TargetProfileError {
  override name = "TargetTimeoutError";
  readonly timeout: number;
  readonly operation: TargetOperation;
  readonly method: string;

  constructor(timeout: number, context: CallContext) {
    super(`${context.operation} (${context.method}) timed out after ${timeout} ms`);
    this.timeout = timeout;
    this.operation = context.operation;
    this.method = context.method;
  }
}

/**
 * Target could not be reached (DNS, connection reset, CORS...) after any retries.
 * @example
 * if (isTargetNetworkError(error)) scheduleLater();
 */
export class TargetNetworkError extends TargetProfileError {
  override name = "TargetNetworkError";
  readonly operation: TargetOperation;
  readonly method: string;

  constructor(context: CallContext) {
    super(`${context.operation} (${context.method}) could not reach Target`);
    this.operation = context.operation;
    this.method = context.method;
  }
}

/**
 * Target answered something this client cannot read (not the documented shape).
 * @example
 * if (isTargetResponseError(error)) reportUpstreamChange(error.operation);
 */
export class TargetResponseError extends TargetProfileError {
  override name = "TargetResponseError";
  readonly operation: TargetOperation;

  constructor(detail: string, operation: TargetOperation) {
    super(`Unexpected answer from Target to ${operation}: ${detail}`);
    this.operation = operation;
  }
}

const isBranded = (error: unknown): error is TargetProfileError =>
  typeof error === "object" && error !== null && (error as { [brand]?: unknown })[brand] === true;

/** A type guard for the error class named `name` (by brand and name, so it works across copies of the package). */
export const errorGuard =
  <T extends TargetProfileError>(name: string) =>
  (error: unknown): error is T =>
    isBranded(error) && error.name === name;

/**
 * True for every error thrown by this package.
 * @example
 * if (isTargetProfileError(error)) console.error(error.name, error.message);
 */
export const isTargetProfileError = isBranded;
/**
 * True when the input broke a rule (nothing was sent).
 * @example
 * if (isTargetValidationError(error)) for (const { path, message } of error.issues) console.error(path, message);
 */
export const isTargetValidationError = errorGuard<TargetValidationError>("TargetValidationError");
/**
 * True when Target answered an HTTP error status.
 * @example
 * if (isTargetHttpError(error) && error.status === 401) console.error("check the Target token");
 */
export const isTargetHttpError = errorGuard<TargetHttpError>("TargetHttpError");
/**
 * True when Target answered `success=false`.
 * @example
 * if (isTargetRejectedError(error)) console.error(error.targetMessage);
 */
export const isTargetRejectedError = errorGuard<TargetRejectedError>("TargetRejectedError");
/**
 * True when an attempt timed out.
 * @example
 * if (isTargetTimeoutError(error)) console.error(`${error.operation} took over ${error.timeout} ms`);
 */
export const isTargetTimeoutError = errorGuard<TargetTimeoutError>("TargetTimeoutError");
/**
 * True when Target could not be reached.
 * @example
 * if (isTargetNetworkError(error)) console.error(`${error.operation} could not reach Target`);
 */
export const isTargetNetworkError = errorGuard<TargetNetworkError>("TargetNetworkError");
/**
 * True when Target's answer had an unexpected shape.
 * @example
 * if (isTargetResponseError(error)) console.error(error.message);
 */
export const isTargetResponseError = errorGuard<TargetResponseError>("TargetResponseError");
