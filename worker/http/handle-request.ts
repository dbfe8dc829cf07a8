import { RELAY_HEADERS } from "../../src/internal/index.js";
import { authenticate } from "../auth/relay-keys.js";
import { presentedSignature, verifySignature } from "../auth/request-signature.js";
import { loadConfig } from "../config/load-config.js";
import { describeUpstreamFailure } from "../delivery/failure-reason.js";
import type { Env } from "../env.js";
import { RelayError } from "../relay-error.js";
import { runOnce } from "./idempotency.js";
import { errorResponse } from "./json-response.js";
import { parseJsonBody, readBody, requireJson } from "./request-body.js";
import { startLog, writeLog, type RequestLog } from "./request-log.js";
import { matchRoute } from "./routes.js";
import { toRelayError } from "./to-relay-error.js";

/** Seconds a rate-limited caller should wait: the `period` of `[[ratelimits]]` in wrangler.toml. */
export const RATE_LIMIT_PERIOD_SECONDS = 60;

/**
 * The relay: one request in, one JSON answer out, one log line written. Plain `Request` and `env`,
 * so tests call it directly.
 */
export async function handleRequest(request: Request, env: Env): Promise<Response> {
  const started = Date.now();
  const log = startLog();
  let response: Response;
  try {
    response = await respond(request, env, log);
  } catch (error) {
    const refusal = toRelayError(error);
    log.error = refusal.code;
    const upstream = describeUpstreamFailure(error);
    if (upstream !== undefined) log.upstream = upstream;
    response = errorResponse(refusal);
  }
  response.headers.set(RELAY_HEADERS.requestId, log.requestId);
  writeLog(log, response.status, Date.now() - started);
  return response;
}

/**
 * Route → configuration → key → scope → rate limit → signature headers → body → signature → idempotency →
 * handler.
 * Callers are authenticated before their body is read, and the body is read before anything goes
 * upstream.
 */
async function respond(request: Request, env: Env, log: RequestLog): Promise<Response> {
  const { template, handler, params } = matchRoute(request.method, new URL(request.url).pathname);
  log.route = `${request.method} ${template}`;
  if (handler.public) return handler.handle();

  const loaded = await loadConfig(env);
  if (!loaded.ok) {
    log.problems = loaded.problems;
    throw new RelayError(503, "not_configured", "the relay is not configured");
  }
  const { config } = loaded;

  const key = await authenticate(request, config.keys);
  log.key = key.name;
  if (!handler.scopes.some((scope) => key.scopes.has(scope))) {
    throw new RelayError(403, "forbidden", `this route needs a key with the ${handler.scopes.join(" or ")} scope`);
  }
  if (!(await config.rateLimit.limit({ key: key.name })).success) {
    throw new RelayError(429, "rate_limited", "too many requests for this key", {
      headers: { "retry-after": String(RATE_LIMIT_PERIOD_SECONDS) },
    });
  }

  if (handler.maxBodyBytes > 0) requireJson(request);
  // The signature headers are checked before the body is read, the body hashed once after.
  const signature = config.signingSecrets && presentedSignature(request);
  const raw = handler.maxBodyBytes > 0 ? await readBody(request, handler.maxBodyBytes) : new Uint8Array(0);
  if (signature && config.signingSecrets) await verifySignature(request, raw, signature, config.signingSecrets);
  const body = handler.maxBodyBytes > 0 ? parseJsonBody(raw) : undefined;

  const run = () => handler.handle({ requestId: log.requestId, params, body, bodyBytes: raw.byteLength, config, log });
  const idempotencyKey = handler.idempotent ? request.headers.get(RELAY_HEADERS.idempotencyKey) : null;
  // Awaited, not returned: workerd reports a rejected promise that is handed on unawaited.
  if (idempotencyKey === null) return await run();
  return await runOnce(
    { keys: config.idempotencyKeys, keyName: key.name, idempotencyKey, request, body: raw, log },
    run,
  );
}
