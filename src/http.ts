import ky, { HTTPError, TimeoutError } from "ky";
import type { ClientConfig } from "./client-options.js";
import {
  TargetHttpError,
  TargetNetworkError,
  TargetRejectedError,
  TargetTimeoutError,
  type TargetOperation,
} from "./errors.js";
import { xmlText } from "./xml.js";

/** One call: what it is (for errors), the caller's signal, and a wait before each attempt (the bulk limiter). */
export interface Call {
  readonly operation: TargetOperation;
  readonly signal?: AbortSignal | undefined;
  readonly beforeAttempt?: ((signal: AbortSignal | undefined) => Promise<void>) | undefined;
}

/** Sends a prepared `Request` with retries and a per-attempt timeout; resolves only with a 2xx `Response`. */
export type Send = (request: Request, call: Call) => Promise<Response>;

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
    fetch: (input, init) => (customFetch ?? globalThis.fetch)(input as Request, init),
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
    const context = { operation: call.operation, method: request.method };
    const wait = call.beforeAttempt;
    call.signal?.throwIfAborted();
    try {
      return await http(request, {
        ...(call.signal ? { signal: call.signal } : {}),
        ...(wait ? { hooks: { beforeRequest: [() => wait(call.signal)] } } : {}),
      });
    } catch (error) {
      // The caller's own abort is theirs to handle: rethrow its reason untouched.
      if (call.signal?.aborted) throw call.signal.reason;
      if (error instanceof TimeoutError) throw new TargetTimeoutError(config.timeout, context);
      if (error instanceof HTTPError) throw await httpFailure(error.response, context);
      // Anything else is the transport failing (ky's errors carry the request and its URL: dropped here).
      throw new TargetNetworkError(context);
    }
  };
}

/** An HTTP error, or Target's own refusal when the answer says `<success>false</success>`. */
async function httpFailure(response: Response, context: { operation: TargetOperation; method: string }) {
  const text = await response.text().catch(() => "");
  const message = xmlText(text, "success") === "false" ? xmlText(text, "message") : undefined;
  return message === undefined ? new TargetHttpError(response.status, context) : new TargetRejectedError(message, context.operation, response.status);
}
