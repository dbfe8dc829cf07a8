import type { ErrorAnswer } from "../../src/internal/index.js";
import type { RelayError } from "../relay-error.js";

/** The headers of every JSON answer: no cache keeps it (it may hold a profile), no browser sniffs it. */
export const JSON_HEADERS = {
  "content-type": "application/json; charset=utf-8",
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
} as const;

/** A JSON answer; `body` is typed by the contract's answer schemas where the route has one. */
export function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { ...JSON_HEADERS, ...headers } });
}

/** The relay's one error shape (the contract's `ErrorAnswer`). */
export function errorResponse(error: RelayError): Response {
  const { field, headers } = error.details;
  const body: ErrorAnswer = { error: { code: error.code, message: error.message, ...(field ? { field } : {}) } };
  return jsonResponse(error.status, body, headers);
}
