// The error of a relay call: beside the relay's contract, whose error codes it carries (errors.ts stays a leaf).
import { errorGuard, TargetProfileError } from "../errors.js";
import type { TargetRelayErrorCode } from "./contract.js";

/**
 * The relay refused a call, with its JSON error (`status`, `code`, `field`), or could not be
 * reached (`status` 0, `code` "network_error" or "timeout"). Like the rest of the family, it
 * carries no URL (ids travel in relay paths), no key and no value.
 * @example
 * if (isTargetRelayError(error) && error.status === 429) retryIn(error.retryAfter);
 * if (isTargetRelayError(error) && error.code === "invalid_input") console.error(error.field, error.message);
 */
export class TargetRelayError extends TargetProfileError {
  override name = "TargetRelayError";
  /** The relay's HTTP status; 0 when it could not be reached. */
  readonly status: number;
  /** The relay's error code (`invalid_input`, `unauthorized`, `rate_limited`, ...), or the client's own. */
  readonly code: TargetRelayErrorCode;
  /** The input field at fault, when the relay named one (e.g. `attributes.tier`). */
  readonly field: string | undefined;
  /** Seconds to wait before trying again, when the relay said (429). */
  readonly retryAfter: number | undefined;

  constructor(
    status: number,
    code: TargetRelayErrorCode,
    message: string,
    details: { field?: string | undefined; retryAfter?: number | undefined } = {},
  ) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = details.field;
    this.retryAfter = details.retryAfter;
  }
}

/**
 * True when the relay refused a call or could not be reached.
 * @example
 * if (isTargetRelayError(error) && error.status === 429) console.error(`retry in ${error.retryAfter} s`);
 */
export const isTargetRelayError = errorGuard<TargetRelayError>("TargetRelayError");
