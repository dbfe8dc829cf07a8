import ky, { HTTPError, TimeoutError } from "ky";
import {
  TargetHttpError,
  TargetNetworkError,
  TargetQuotaError,
  TargetRejectedError,
  TargetTimeoutError,
  type NetworkFailureKind,
  type TargetOperation,
} from "../errors.js";
import { xmlText } from "../internal/xml.js";
import type { ClientConfig } from "./client-options.js";

/** One call: what it is (for errors), the caller's signal, and a wait before each attempt (the bulk limiter). */
export interface Call {
  readonly operation: TargetOperation;
  readonly signal?: AbortSignal | undefined;
  readonly beforeAttempt?: ((signal: AbortSignal | undefined) => Promise<void>) | undefined;
  /** This call's per-attempt timeout in ms, instead of the client's (0: none). */
  readonly timeout?: number | undefined;
  /** Error statuses the caller reads itself (e.g. a fetch's 404) instead of getting them thrown. */
  readonly answerStatuses?: readonly number[] | undefined;
  /** Statuses retried besides 429 and 5xx (the Delivery API's 420). */
  readonly retryStatuses?: readonly number[] | undefined;
  /** How the endpoint words a refusal: `<success>false</success>` (default) or JSON `{ status, message }`. */
  readonly refusal?: "xml" | "json" | undefined;
}

/** What Target answered: its status and body text. */
export interface Answer {
  readonly status: number;
  readonly text: string;
}

/**
 * Sends a prepared `Request` with retries and a per-attempt timeout, and reads the answer's body.
 * Resolves with a 2xx answer (or one of `answerStatuses`); every failure is one of our errors.
 */
export type Send = (request: Request, call: Call) => Promise<Answer>;

// 429 and every 5xx are worth another try; other 4xx would fail the same way again.
const RETRY_STATUSES = [429, ...Array.from({ length: 100 }, (_, index) => 500 + index)];

/** Exponential backoff with "equal jitter": half the step fixed, half random, so clients spread out. */
const backoff = (baseDelay: number, maxDelay: number) => (attempt: number) => {
  const step = Math.min(maxDelay, baseDelay * 2 ** (attempt - 1));
  return step / 2 + Math.random() * (step / 2);
};

export function createSend(config: ClientConfig): Send {
  const customFetch = config.fetch;
  const http = ky.create({
    // Bind lazily: the global fetch may be replaced after the client is created (tests, polyfills).
    fetch: async (input, init) => {
      const response = await (customFetch ?? globalThis.fetch)(input as Request, init).catch(
        stoppedByAbort(input as Request),
      );
      // ky keeps a clone for retries and waits for its body to be cancelled; the clone shares a
      // tee with this request, so a fetch that never read this body (a mock) would hang the call.
      if (input instanceof Request && !input.bodyUsed) void input.body?.cancel().catch(() => undefined);
      // A 429 asking for a longer wait than we allow is a used-up daily quota (our reading, in
      // docs/target-api.md): ky would wait maxRetryAfter and try again in vain, so the call stops here
      // and the caller learns when to come back.
      const wait = response.status === 429 ? retryAfterMs(response.headers.get("retry-after")) : undefined;
      if (wait !== undefined && wait > config.retry.maxRetryAfter) {
        void response.body?.cancel().catch(() => undefined);
        throw new QuotaAnswer(input as Request, Math.ceil(wait / 1000));
      }
      return response;
    },
    timeout: config.timeout === 0 ? false : config.timeout,
    throwHttpErrors: true,
    retry: {
      limit: config.retry.limit,
      methods: ["get", "post"],
      statusCodes: RETRY_STATUSES,
      afterStatusCodes: [429, 503],
      maxRetryAfter: config.retry.maxRetryAfter,
      delay: backoff(config.retry.baseDelay, config.retry.maxDelay),
    },
  });

  return async (request, call) => {
    const context = { operation: call.operation, method: request.method, tokenSent: config.token !== undefined };
    const timeout = call.timeout ?? config.timeout;
    const wait = call.beforeAttempt;
    call.signal?.throwIfAborted();
    try {
      const response = await http(request, {
        timeout: timeout === 0 ? false : timeout,
        ...(call.signal ? { signal: call.signal } : {}),
        // ky merges arrays: these statuses are retried on top of the client's.
        ...(call.retryStatuses ? { retry: { statusCodes: [...call.retryStatuses] } } : {}),
        ...(wait ? { hooks: { beforeRequest: [(attempt) => wait(call.signal).catch(stoppedByAbort(attempt))] } } : {}),
      });
      return { status: response.status, text: await response.text() };
    } catch (error) {
      // The caller's own abort is theirs to handle: rethrow its reason untouched.
      if (call.signal?.aborted) throw call.signal.reason;
      if (error instanceof QuotaAnswer) throw new TargetQuotaError(error.retryAfter, context);
      if (error instanceof TimeoutError) throw new TargetTimeoutError(timeout, context);
      if (error instanceof HTTPError) {
        const text = await error.response.text().catch(() => "");
        if (call.answerStatuses?.includes(error.response.status)) return { status: error.response.status, text };
        throw httpFailure(error.response.status, text, context, call);
      }
      // Anything else is the transport failing, also while reading the body (ky's errors and the
      // runtime's carry the request, its URL or a socket address: dropped here, only the kind kept).
      throw new TargetNetworkError(context, networkFailureKind(error));
    }
  };
}

/**
 * An attempt ended by the caller's abort is reported to ky as its own `TimeoutError`, the one error ky
 * does not retry: otherwise ky starts a retry delay on the aborted signal, whose already-rejected
 * promise workerd reports as an unhandled rejection. `send` then rethrows the caller's reason.
 */
const stoppedByAbort = (request: Request) => (error: unknown) => {
  throw request.signal.aborted ? new TimeoutError(request) : error;
};

// What runtimes say of a failed connection, in error codes (Node, Bun) or messages (Deno, workerd):
// read, never passed on (messages may hold the URL).
const FAILURES: readonly (readonly [NetworkFailureKind, RegExp])[] = [
  ["refused", /ECONNREFUSED|ConnectionRefused|connection refused/i],
  ["dns", /ENOTFOUND|EAI_AGAIN|EAI_NONAME|getaddrinfo|DNS|resolve host|name or service not known/i],
  ["tls", /CERT|TLS|SSL|certificate|self[- ]signed/i],
  ["timeout", /ETIMEDOUT|CONNECT_TIMEOUT|timed out/i],
  [
    "reset",
    /ECONNRESET|EPIPE|UND_ERR_SOCKET|ConnectionClosed|socket hang up|other side closed|connection (?:was )?(?:reset|closed|lost)|broken pipe/i,
  ],
  ["aborted", /ECONNABORTED|AbortError|aborted/i],
];

/** The kind of a transport failure, from the error and its causes. */
export function networkFailureKind(error: unknown): NetworkFailureKind {
  const said: string[] = [];
  for (let at = error, depth = 0; typeof at === "object" && at !== null && depth < 5; depth++) {
    const { code, name, message, cause } = at as { code?: unknown; name?: unknown; message?: unknown; cause?: unknown };
    for (const text of [code, name, message]) if (typeof text === "string") said.push(text);
    at = cause;
  }
  const text = said.join(" ");
  return FAILURES.find(([, pattern]) => pattern.test(text))?.[0] ?? "unknown";
}

/**
 * Target's answer past a quota, carried out of ky as its `TimeoutError`, the one error ky never
 * retries (as `stoppedByAbort` does); `send` turns it into a `TargetQuotaError`.
 */
class QuotaAnswer extends TimeoutError {
  readonly retryAfter: number;

  constructor(request: Request, retryAfter: number) {
    super(request);
    this.retryAfter = retryAfter;
  }
}

/** `Retry-After` in milliseconds from now: delay-seconds or an HTTP date; `undefined` when absent or unreadable. */
function retryAfterMs(value: string | null): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  const seconds = Number(value);
  const ms = Number.isNaN(seconds) ? Date.parse(value) - Date.now() : seconds * 1000;
  return Number.isFinite(ms) ? Math.max(0, ms) : undefined;
}

/**
 * An HTTP error, or Target's own refusal: an answer saying `<success>false</success>`, or (JSON
 * endpoints) a final status whose body is `{ status, message }`. Statuses that were retried stay
 * HTTP errors: what counts for them is the status.
 */
function httpFailure(
  status: number,
  text: string,
  context: { operation: TargetOperation; method: string },
  call: Call,
) {
  const message = refusalMessage(status, text, call);
  return message === undefined
    ? new TargetHttpError(status, context)
    : new TargetRejectedError(message, context.operation, status);
}

function refusalMessage(status: number, text: string, call: Call): string | undefined {
  if (call.refusal !== "json") return xmlText(text, "success") === "false" ? xmlText(text, "message") : undefined;
  const retried = RETRY_STATUSES.includes(status) || !!call.retryStatuses?.includes(status);
  return retried ? undefined : jsonMessage(text);
}

/** The `message` of a JSON error answer (`{ "status": 400, "message": "…" }`), if it is one. */
function jsonMessage(text: string): string | undefined {
  try {
    const body = JSON.parse(text) as unknown;
    const message = typeof body === "object" && body !== null ? (body as { message?: unknown }).message : undefined;
    return typeof message === "string" ? message : undefined;
  } catch {
    return undefined;
  }
}
