import type { RelayErrorCode } from "../src/internal/index.js";

interface RelayErrorDetails {
  /** The input field at fault, e.g. `attributes.tier` or `updates[3].mbox3rdPartyId`. */
  readonly field?: string | undefined;
  /** Headers the status calls for: `Allow`, `Retry-After`, `WWW-Authenticate`. */
  readonly headers?: Record<string, string>;
}

/**
 * A refusal the caller is meant to see. Messages name the field and the rule, never a value, an
 * id or a key: they are sent to the caller and written to the logs.
 */
export class RelayError extends Error {
  override name = "RelayError";
  readonly status: number;
  readonly code: RelayErrorCode;
  readonly details: RelayErrorDetails;

  constructor(status: number, code: RelayErrorCode, message: string, details: RelayErrorDetails = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}
