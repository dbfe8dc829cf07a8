// What a route does for one method: a handler, public (no configuration needed) or protected (a key with
// one of its scopes, a body within its size). The router (routes.ts) picks one per method and path.
import type { Scope } from "../auth/relay-keys.js";
import type { RelayConfig } from "../config/relay-config.js";
import type { RequestLog } from "./request-log.js";

/** What a protected route's handler gets, once the caller is authenticated and the body read. */
export interface HandlerCall {
  readonly requestId: string;
  /** Path parameters, still percent-encoded (see `pathParam`). */
  readonly params: Readonly<Record<string, string>>;
  /** The parsed JSON body (`undefined` for routes without one). */
  readonly body: unknown;
  /** The body's size in bytes, as received. */
  readonly bodyBytes: number;
  readonly config: RelayConfig;
  /** The request's log line, for the handler to add its counts to. */
  readonly log: RequestLog;
}

/** A route method open to anyone, needing no configuration. */
export interface PublicHandler {
  readonly public: true;
  readonly handle: () => Response;
}

/** A route method for authenticated callers. */
export interface ProtectedHandler {
  readonly public?: false;
  /** The caller's key must hold one of these. */
  readonly scopes: readonly Scope[];
  /** The largest JSON body accepted, in bytes; 0 for a route without a body. */
  readonly maxBodyBytes: number;
  /** Takes an `Idempotency-Key`: a repeat within 24 hours gets the first answer back (idempotency.ts). */
  readonly idempotent?: true;
  readonly handle: (call: HandlerCall) => Promise<Response>;
}

export type RouteHandler = PublicHandler | ProtectedHandler;
