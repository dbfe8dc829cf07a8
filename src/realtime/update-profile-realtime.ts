// A real-time write, session and all: the visitor's session is opened from the store (the same
// sessionId while it lives, a new random one otherwise), the call goes to the edge host Target last
// answered from when that host is trusted, and to the client's own host when there is none or the
// edge fails; then the session is saved with what Target answered. Adobe's SDKs keep the session and
// the edge 31 minutes (Target keeps a session 30 minutes after its last call); so does this.
import { isTargetHttpError, isTargetNetworkError, isTargetTimeoutError, type TargetProfileError } from "../errors.js";
import { toHex } from "../internal/bytes.js";
import type { Endpoint } from "../internal/endpoint.js";
import { trustedEdgeBaseUrl } from "../internal/trusted-host.js";
import { REALTIME_SESSION_MS } from "../limits.js";
import type { CheckedUpdate } from "../profile-update.js";
import { deliveryRequest, type DeliveryCall } from "./build-delivery-request.js";
import { parseDeliveryResponse, type DeliveryResult } from "./delivery-response.js";
import type { SessionGate } from "./session-gate.js";
import type { RealtimeSession, RealtimeSessionStore } from "./session-store.js";

/** How long a session is kept after a call: Target's 30 minutes, plus the minute Adobe's SDKs add. */
export const SESSION_KEEP_MS = REALTIME_SESSION_MS + 60_000;
/**
 * A call that changes nothing but the session's expiry saves it only when that moves by more than
 * this: the kept expiry then lags the last call's by at most a minute, so the session is still kept
 * 30 minutes after its last call (Target's), and a visitor's burst of calls costs the store one save.
 */
const SAVE_SLACK_MS = SESSION_KEEP_MS - REALTIME_SESSION_MS;

/**
 * What `updateProfileRealtime` resolves with: Target's answer, and the session the call went in.
 * @example
 * const { tntId, edgeHost, sessionId, mboxes } = await target.updateProfileRealtime(update);
 */
export interface RealtimeResult extends DeliveryResult {
  /** The visitor's sessionId, kept for their calls while the session lives. */
  readonly sessionId: string;
}

/** Sends one Delivery API request (with the client's retries) and resolves with the answer's text. */
export type SendDelivery = (request: Request, signal: AbortSignal | undefined) => Promise<string>;

export interface RealtimeWriter {
  readonly endpoint: Pick<Endpoint, "clientCode" | "baseUrl">;
  readonly sessions: RealtimeSessionStore;
  readonly gate: SessionGate;
  readonly send: SendDelivery;
}

/** The session store's key of a visitor: one per id kind, so a tnt id never meets a third-party id. */
export const sessionKey = (update: CheckedUpdate) =>
  `${update.idType === "thirdPartyId" ? "thirdPartyId" : "tntId"}:${update.id}`;

/** Writes an update already checked (`parseRealtimeUpdate`) in the visitor's session. */
export async function updateRealtime(
  writer: RealtimeWriter,
  update: CheckedUpdate,
  call: Omit<DeliveryCall, "sessionId">,
  signal: AbortSignal | undefined,
): Promise<RealtimeResult> {
  const visitor = sessionKey(update);
  const fresh: RealtimeSession = { sessionId: newSessionId(), expiresAt: Date.now() + SESSION_KEEP_MS };
  const session = await writer.sessions.open(visitor, fresh, Date.now());
  const { sessionId } = session;
  const edge = session.edgeHost === undefined ? undefined : trustedEdgeBaseUrl(session.edgeHost, writer.endpoint);
  const send = (baseUrl: string) =>
    writer.send(deliveryRequest(update, { ...writer.endpoint, baseUrl }, { ...call, sessionId }), signal);

  let text: string;
  let edgeFailed = false;
  await writer.gate.enter(sessionId, signal);
  try {
    if (edge === undefined || edge === writer.endpoint.baseUrl) {
      text = await send(writer.endpoint.baseUrl);
    } else {
      text = await send(edge).catch((error: unknown) => {
        if (!isEdgeFailure(error)) throw error;
        edgeFailed = true;
        return send(writer.endpoint.baseUrl);
      });
    }
  } finally {
    writer.gate.leave(sessionId);
  }

  const result = parseDeliveryResponse(text);
  const saved: RealtimeSession = {
    sessionId,
    edgeHost: result.edgeHost ?? (edgeFailed ? undefined : session.edgeHost),
    tntId: result.tntId ?? session.tntId,
    expiresAt: Date.now() + SESSION_KEEP_MS,
  };
  const news = saved.edgeHost !== session.edgeHost || saved.tntId !== session.tntId;
  if (news || saved.expiresAt - session.expiresAt > SAVE_SLACK_MS) {
    try {
      await writer.sessions.save(visitor, saved, Date.now());
    } catch {
      // Target took the write: a store that cannot record the session now must not fail it.
    }
  }
  return { ...result, sessionId };
}

/** The edge could not serve the call (it is down or overloaded): the client's host may. */
function isEdgeFailure(error: unknown): error is TargetProfileError {
  return (
    isTargetNetworkError(error) || isTargetTimeoutError(error) || (isTargetHttpError(error) && error.status >= 500)
  );
}

/** 128 random bits as 32 hex digits: a valid sessionId, unique to one visitor's session. */
const newSessionId = () => toHex(crypto.getRandomValues(new Uint8Array(16)));
