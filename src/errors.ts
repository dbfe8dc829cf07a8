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
  /** Whether the call carried a token (worth saying on a 401). */
  readonly tokenSent?: boolean | undefined;
}

/** What a 401 means, without ever showing the token. */
function unauthorized(tokenSent: boolean | undefined): string {
  if (tokenSent === false) return ": the account requires a token and none was configured";
  if (tokenSent === true) return ": the token was refused (wrong or expired)";
  return ": the token is missing, wrong or expired";
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
    super(
      `Target answered HTTP ${status} to ${context.operation} (${context.method})${status === 401 ? unauthorized(context.tokenSent) : ""}`,
    );
    this.status = status;
    this.operation = context.operation;
    this.method = context.method;
  }
}

/**
 * Target answered 429 and asked to wait longer than the client's `retry.maxRetryAfter`: in our
 * reading, the rolling 24-hour quota (a million single updates, a million fetches) is used up. The
 * call was not retried (retrying sooner would fail the same way): try again after `retryAfter`.
 * @example
 * if (isTargetQuotaError(error)) scheduleAt(Date.now() + error.retryAfter * 1000);
 */
export class TargetQuotaError extends TargetProfileError {
  override name = "TargetQuotaError";
  readonly status: number;
  readonly operation: TargetOperation;
  readonly method: string;
  /** Seconds to wait before trying again, as Target said in `Retry-After`. */
  readonly retryAfter: number;

  constructor(retryAfter: number, context: CallContext) {
    super(`Target's quota for ${context.operation} (${context.method}) is used up; retry in ${retryAfter} s`);
    this.status = 429;
    this.operation = context.operation;
    this.method = context.method;
    this.retryAfter = retryAfter;
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
 * How a call failed to reach Target: the connection was refused, the host name did not resolve, TLS
 * failed, the connection was reset or closed, it timed out connecting, it was aborted by something
 * other than the caller's signal, or the runtime did not say (browsers never do).
 * @example
 * if (isTargetNetworkError(error) && error.kind === "dns") console.error("check TARGET_BASE_URL");
 */
export type NetworkFailureKind = "refused" | "dns" | "tls" | "reset" | "timeout" | "aborted" | "unknown";

const NETWORK_FAILURES: Record<NetworkFailureKind, string> = {
  refused: "the connection was refused",
  dns: "the host name did not resolve",
  tls: "the TLS handshake or certificate failed",
  reset: "the connection was reset or closed",
  timeout: "connecting timed out",
  aborted: "the connection was aborted",
  unknown: "the runtime did not say why",
};

/**
 * Target could not be reached (DNS, connection refused or reset, TLS, CORS...) after any retries.
 * `kind` says which, when the runtime tells; never the URL.
 * @example
 * if (isTargetNetworkError(error)) scheduleLater();
 */
export class TargetNetworkError extends TargetProfileError {
  override name = "TargetNetworkError";
  readonly operation: TargetOperation;
  readonly method: string;
  readonly kind: NetworkFailureKind;

  constructor(context: CallContext, kind: NetworkFailureKind = "unknown") {
    super(`${context.operation} (${context.method}) could not reach Target: ${NETWORK_FAILURES[kind]}`);
    this.operation = context.operation;
    this.method = context.method;
    this.kind = kind;
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
 * True when Target's quota is used up and the call should be tried again after `retryAfter` seconds.
 * @example
 * if (isTargetQuotaError(error)) console.error(`retry in ${error.retryAfter} s`);
 */
export const isTargetQuotaError = errorGuard<TargetQuotaError>("TargetQuotaError");
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
