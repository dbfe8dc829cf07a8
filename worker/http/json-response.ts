import type { RelayError } from "../relay-error.js";

/** A JSON answer that no cache keeps (it may hold a profile) and no browser sniffs. */
export function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: {
      "content-type": "application/json; charset=utf-8",
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
      ...headers,
    },
  });
}

export function errorResponse(error: RelayError): Response {
  const { field, headers } = error.details;
  const body = { error: { code: error.code, message: error.message, ...(field ? { field } : {}) } };
  return jsonResponse(error.status, body, headers);
}
