import { concatBytes, RELAY_HEADERS, toHex } from "../../src/internal/index.js";
import {
  CLAIM_RENEW_MS,
  idempotencyKeysFor,
  type IdempotencyKeys,
  type StoredAnswer,
} from "../objects/idempotency-keys.js";
import { RelayError } from "../relay-error.js";
import { JSON_HEADERS } from "./json-response.js";
import { noteFailedStep, type RequestLog } from "./request-log.js";

/** Printable ASCII, as the IETF draft and Stripe take it; long enough for a UUID or a hash. */
const KEY = /^[\x21-\x7e]{1,255}$/;
// Answer headers worth repeating: the rest (x-request-id…) are the repeat's own.
const KEPT_HEADERS = ["location", "retry-after"];

interface IdempotentCall {
  readonly keys: DurableObjectNamespace<IdempotencyKeys>;
  /** The caller's key name: two callers' Idempotency-Keys never collide. */
  readonly keyName: string;
  readonly idempotencyKey: string;
  readonly request: Request;
  readonly body: Uint8Array;
  readonly log: RequestLog;
}

/**
 * Runs a write once per `Idempotency-Key`: a repeat within 24 hours (same caller key, same method,
 * path and body) gets the first answer back, with `idempotent-replayed: true`, and nothing is sent
 * or queued again. Only successful answers are kept: after a failure, a repeat runs anew. A repeat
 * while the first is still running gets 409 (its claim is renewed while it runs, however long); the same
 * key with another request, 422.
 */
export async function runOnce(call: IdempotentCall, run: () => Promise<Response>): Promise<Response> {
  const { keys, keyName, idempotencyKey, request, body, log } = call;
  if (!KEY.test(idempotencyKey)) {
    throw new RelayError(400, "invalid_input", "Idempotency-Key: must be 1 to 255 printable ASCII characters", {
      field: "Idempotency-Key",
    });
  }
  const scope = `${keyName}\n${idempotencyKey}`;
  const store = idempotencyKeysFor(keys, scope);
  const claim = await store.claim(scope, await fingerprint(request, body), Date.now());
  switch (claim.outcome) {
    case "answered":
      log.idempotency = "replayed";
      return replay(claim.answer);
    case "in_progress":
      throw new RelayError(
        409,
        "idempotency_conflict",
        "a request with this Idempotency-Key is still running: try again shortly",
        {
          headers: { "retry-after": "1" },
        },
      );
    case "mismatch":
      throw new RelayError(
        422,
        "idempotency_key_reused",
        "this Idempotency-Key was used with another request: use a new key",
      );
  }

  log.idempotency = "first";
  const { claimId } = claim;
  // The claim lasts as long as the request runs, however slow Target is: renewed until it ends.
  const renewal = setInterval(() => {
    store.renew(scope, claimId, Date.now()).catch(() => {});
  }, CLAIM_RENEW_MS);
  let response: Response;
  try {
    response = await run();
  } catch (error) {
    await store.release(scope, claimId).catch(() => {});
    throw error;
  } finally {
    clearInterval(renewal);
  }
  if (!response.ok) {
    await store.release(scope, claimId).catch(() => {});
    return response;
  }
  const headers = Object.fromEntries(
    KEPT_HEADERS.flatMap((name) => (response.headers.has(name) ? [[name, response.headers.get(name) as string]] : [])),
  );
  const text = await response.text();
  // The write is done whatever happens here: failing to keep its answer only means a repeat would run again.
  await store.answer(scope, claimId, { status: response.status, body: text, headers }).catch(() => {
    noteFailedStep(log, "idempotency_answer", "lost");
  });
  return new Response(text, response);
}

function replay({ status, body, headers }: StoredAnswer): Response {
  return new Response(body, {
    status,
    headers: { ...JSON_HEADERS, ...headers, [RELAY_HEADERS.idempotentReplayed]: "true" },
  });
}

/** SHA-256 of the method, path and body: enough to tell "the same request" (hex; the body itself is never kept). */
async function fingerprint(request: Request, body: Uint8Array): Promise<string> {
  const head = new TextEncoder().encode(`${request.method} ${new URL(request.url).pathname}\n`);
  return toHex(await crypto.subtle.digest("SHA-256", concatBytes(head, body)));
}
