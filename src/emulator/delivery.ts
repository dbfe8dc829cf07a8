// The Delivery API as a real-time profile write uses it: `POST /rest/v1/delivery?client=CC&sessionId=SID`
// (docs/target-api.md, "Delivery API"). Written from the documentation, independently of the client's
// builder, so the two check each other. It validates as documented (`{ status, message }` answers),
// finds or creates the visitor's profile (a new tnt id carries the edge's location hint), applies the
// execute mboxes' profileParameters at once, answers with the edge host, and keeps count of what a
// test needs to prove a client right: billed calls (one per executed mbox), sessions switched within
// their 30 minutes or shared between visitors, and the most concurrent requests of one session.
import {
  MAX_CONCURRENT_SESSION_REQUESTS,
  MAX_ID_LENGTH,
  MAX_MBOX_NAME_LENGTH,
  MAX_NAME_LENGTH,
  MAX_PROFILE_PARAMETERS_PER_MBOX,
  MAX_REALTIME_VALUE_LENGTH,
  MAX_SESSION_ID_LENGTH,
  MAX_TNT_ID_LENGTH,
  REALTIME_SESSION_MS,
} from "../limits.js";
import type { ProfileRecord, ProfileStore } from "./profile-store.js";
import { jsonResponse, refusal } from "./responses.js";
import { queryField } from "./routing.js";
import type { DeliveryStats } from "./types.js";

/** What Target answers past 100 concurrent requests of one session (the Limits page). */
const TOO_MANY = "Too many requests with same session ID";
// Printable ASCII but space, `?`, `{`, `}` and `/`.
const SESSION_ID = /^[!-.0-9:->@-z|~]+$/;

export interface DeliveryServiceOptions {
  readonly store: ProfileStore;
  readonly now: () => number;
  /** The edge host a call's answer names: the emulator's own (`mboxedge45.tt.omtrdc.net`), or the call's. */
  readonly edgeHostOf: (url: URL) => string;
  /** A new tnt id (with the edge's location hint). */
  readonly newTntId: () => string;
}

export interface DeliveryService {
  /** A call arrives: counted in flight for its session, or the 420 answer when the session is full. */
  enter(url: URL): Response | undefined;
  /** The call was answered (or dropped). */
  leave(url: URL): void;
  answer(request: Request, url: URL, body: Uint8Array, clientCode: string): Response;
  stats(): DeliveryStats;
  clear(): void;
}

interface Use {
  readonly key: string;
  readonly at: number;
}

const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

export function createDeliveryService(options: DeliveryServiceOptions): DeliveryService {
  const { store, now } = options;
  const inFlight = new Map<string, number>();
  // The last session each visitor (by tnt id) used, and the last visitor each session served.
  const sessionOfVisitor = new Map<string, Use>();
  const visitorOfSession = new Map<string, Use>();
  const switched = new Set<string>();
  const shared = new Set<string>();
  let billedCalls = 0;
  let maxConcurrent = 0;

  /** Notes that `record` was written in `sessionId` now; a switch or a share within 30 minutes is counted. */
  function noteSession(record: ProfileRecord, sessionId: string) {
    const at = now();
    const live = (use: Use | undefined) => use !== undefined && at - use.at < REALTIME_SESSION_MS;
    const previous = sessionOfVisitor.get(record.tntId);
    if (live(previous) && previous?.key !== sessionId) switched.add(record.tntId);
    const served = visitorOfSession.get(sessionId);
    if (live(served) && served?.key !== record.tntId) shared.add(sessionId);
    sessionOfVisitor.set(record.tntId, { key: sessionId, at });
    visitorOfSession.set(sessionId, { key: record.tntId, at });
  }

  return {
    enter(url) {
      const sessionId = queryField(url, "sessionId");
      if (sessionId === undefined) return undefined;
      const count = inFlight.get(sessionId) ?? 0;
      if (count >= MAX_CONCURRENT_SESSION_REQUESTS) return jsonResponse(420, { status: 420, message: TOO_MANY });
      inFlight.set(sessionId, count + 1);
      maxConcurrent = Math.max(maxConcurrent, count + 1);
      return undefined;
    },

    leave(url) {
      const sessionId = queryField(url, "sessionId");
      const count = sessionId === undefined ? undefined : inFlight.get(sessionId);
      if (count === undefined) return;
      if (count <= 1) inFlight.delete(sessionId as string);
      else inFlight.set(sessionId as string, count - 1);
    },

    answer(request, url, body, clientCode) {
      const sessionId = queryField(url, "sessionId");
      if (sessionId === undefined || sessionId.length > MAX_SESSION_ID_LENGTH || !SESSION_ID.test(sessionId)) {
        return refusal("json", 400, "sessionId must be 1-128 printable characters, without space, ?, {, } or /");
      }
      const type = (request.headers.get("content-type") ?? "").split(";")[0]?.trim().toLowerCase();
      if (type !== "application/json") return refusal("json", 415, "Content-Type must be application/json");
      const parsed = readDeliveryRequest(body);
      if (typeof parsed === "string") return refusal("json", 400, parsed);

      const { id, mboxes } = parsed;
      const at = new Date(now()).toISOString();
      const record =
        (id.thirdPartyId !== undefined ? store.find("thirdPartyId", id.thirdPartyId) : undefined) ??
        (id.tntId !== undefined ? store.find("tntId", id.tntId) : undefined) ??
        create(id, at);
      for (const { profileParameters } of mboxes) {
        store.setAttributes(
          record,
          Object.entries(profileParameters).filter(([, value]) => value !== ""),
          at,
        );
      }
      billedCalls += mboxes.length;
      noteSession(record, sessionId);
      return jsonResponse(200, {
        status: 200,
        requestId: parsed.requestId ?? crypto.randomUUID(),
        client: clientCode,
        id: { tntId: record.tntId, ...(id.thirdPartyId === undefined ? {} : { thirdPartyId: id.thirdPartyId }) },
        edgeHost: options.edgeHostOf(url),
        execute: { mboxes: mboxes.map(({ index, name }) => ({ index, name })) },
      });
    },

    stats: () => ({
      billedCalls,
      sessionSwitches: switched.size,
      sharedSessions: shared.size,
      maxConcurrentRequests: maxConcurrent,
    }),

    clear() {
      inFlight.clear();
      sessionOfVisitor.clear();
      visitorOfSession.clear();
      switched.clear();
      shared.clear();
      billedCalls = 0;
      maxConcurrent = 0;
    },
  };

  /** An unknown visitor gets a profile: Target makes a tnt id (and maps the third-party id to it). */
  function create({ tntId = options.newTntId(), thirdPartyId }: VisitorId, at: string): ProfileRecord {
    store.seed({ tntId, ...(thirdPartyId === undefined ? {} : { thirdPartyId }) }, at);
    return store.find("tntId", tntId) as ProfileRecord;
  }
}

interface VisitorId {
  readonly tntId?: string | undefined;
  readonly thirdPartyId?: string | undefined;
}

interface Mbox {
  readonly index: number;
  readonly name: string;
  readonly profileParameters: Readonly<Record<string, string>>;
}

interface DeliveryRequest {
  readonly requestId?: string | undefined;
  readonly id: VisitorId;
  readonly mboxes: readonly Mbox[];
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** The request, checked as Target documents it; the message of a 400 otherwise. */
function readDeliveryRequest(body: Uint8Array): DeliveryRequest | string {
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(body));
  } catch {
    return "The request body is not valid JSON";
  }
  if (!isObject(json)) return "The request body must be a JSON object";
  const { requestId, context, id = {}, property, execute = {} } = json;
  if (requestId !== undefined && (typeof requestId !== "string" || requestId.length > 128)) {
    return "requestId must be a string of at most 128 characters";
  }
  if (!isObject(context) || (context.channel !== "web" && context.channel !== "mobile")) {
    return "context.channel is required: web or mobile";
  }
  if (property !== undefined && !(isObject(property) && typeof property.token === "string" && property.token !== "")) {
    return "Invalid property token";
  }
  const visitor = readVisitorId(id);
  if (typeof visitor === "string") return visitor;
  if (!isObject(execute)) return "execute must be an object";
  const mboxes = readMboxes(execute.mboxes ?? []);
  if (typeof mboxes === "string") return mboxes;
  return { requestId, id: visitor, mboxes };
}

function readVisitorId(id: unknown): VisitorId | string {
  if (!isObject(id)) return "id must be an object";
  const { tntId, thirdPartyId } = id;
  if (tntId !== undefined && (typeof tntId !== "string" || tntId === "" || tntId.length > MAX_TNT_ID_LENGTH)) {
    return `id.tntId must be a string of 1-${MAX_TNT_ID_LENGTH} characters`;
  }
  if (typeof tntId === "string" && tntId.split(".").length > 2) {
    return "id.tntId must not contain '.' but before its location hint";
  }
  if (
    thirdPartyId !== undefined &&
    (typeof thirdPartyId !== "string" || thirdPartyId === "" || thirdPartyId.length > MAX_ID_LENGTH)
  ) {
    return `id.thirdPartyId must be a string of 1-${MAX_ID_LENGTH} characters`;
  }
  return { tntId, thirdPartyId } as VisitorId;
}

function readMboxes(mboxes: unknown): Mbox[] | string {
  if (!Array.isArray(mboxes)) return "execute.mboxes must be an array";
  const indexes = new Set<number>();
  const read: Mbox[] = [];
  for (const mbox of mboxes as unknown[]) {
    if (!isObject(mbox)) return "execute.mboxes must hold objects";
    const { index, name, profileParameters = {} } = mbox;
    if (typeof index !== "number" || !Number.isInteger(index) || indexes.has(index)) {
      return "mbox index must be an integer, unique in the list";
    }
    indexes.add(index);
    if (typeof name !== "string" || name.trim() === "" || name.length > MAX_MBOX_NAME_LENGTH) {
      return `mbox name must not be blank and at most ${MAX_MBOX_NAME_LENGTH} characters`;
    }
    const parameters = readProfileParameters(profileParameters);
    if (typeof parameters === "string") return parameters;
    read.push({ index, name, profileParameters: parameters });
  }
  return read;
}

function readProfileParameters(parameters: unknown): Record<string, string> | string {
  if (!isObject(parameters)) return "profileParameters must be an object";
  const entries = Object.entries(parameters);
  if (entries.length > MAX_PROFILE_PARAMETERS_PER_MBOX) {
    return `The number of profileParameters cannot exceed ${MAX_PROFILE_PARAMETERS_PER_MBOX}`;
  }
  for (const [name, value] of entries) {
    if (name.trim() === "" || name.length > MAX_NAME_LENGTH || name.startsWith("profile.")) {
      return `profile parameter names must not be blank, at most ${MAX_NAME_LENGTH} characters, without 'profile.'`;
    }
    if (typeof value !== "string") return "profile parameter values must be strings";
    if (value.length > MAX_REALTIME_VALUE_LENGTH) {
      return `profile parameter values must be at most ${MAX_REALTIME_VALUE_LENGTH} characters`;
    }
  }
  return Object.fromEntries(entries) as Record<string, string>;
}
