import { BULK_CALL_WINDOW_MS, BULK_CALLS_PER_MINUTE } from "../limits.js";
import { BatchCheck } from "./batch-parsing.js";
import { createBatchService } from "./batches.js";
import { createConsecutiveBatchWriter } from "./consecutive-batches.js";
import { createDailyQuotas } from "./daily-quotas.js";
import { createDeliveryService } from "./delivery.js";
import { createFaultQueue, delay } from "./faults.js";
import { createPendingWrites } from "./pending-writes.js";
import { createProfileStore, toStoredProfile } from "./profile-store.js";
import { readBody } from "./request-body.js";
import { handleProfileFetch } from "./profile-fetch.js";
import { jsonResponse, refusal } from "./responses.js";
import { createRollingLimit } from "./rolling-limit.js";
import { answerFormat, matchRoute, ROUTE_METHODS, type Route } from "./routing.js";
import { handleSingleUpdate } from "./single-update.js";
import type { EmulatorCall, FaultBehaviour, TargetEmulator, TargetEmulatorOptions, VisibilityDelay } from "./types.js";

type MutableCall = { -readonly [K in keyof EmulatorCall]: EmulatorCall[K] };

/**
 * Our reading of "realistic": Adobe's legacy guide says a single update's "lag time is less than a
 * minute"; the current pages say updates and batches land "generally in under one hour".
 */
const REALISTIC_DELAY: Required<VisibilityDelay> = { singleUpdate: 60_000, batch: 3_600_000 };

/**
 * An in-memory Adobe Target speaking the Profile APIs over a fetch handler, as documented (see
 * docs/target-api.md): single updates (GET/POST, 8 KB / 60 KB, update only), profile fetch, batch
 * update v1/v2 and batch status (the last 10 per client, for 24 hours), "Require Authentication",
 * the 50 bulk calls a minute, the daily quotas, optional visibility delays, injected faults, and the
 * Delivery API's real-time writes (creating profiles, visible at once, sessions and billed calls
 * counted).
 * @example
 * import { createTargetEmulator } from "target-profile/emulator";
 * const emulator = createTargetEmulator({ clientCode: "acme" });
 * emulator.seedProfile({ thirdPartyId: "crm-42" });
 * const target = createTargetClient({ clientCode: "acme", fetch: emulator.fetch });
 * await target.updateProfile({ mbox3rdPartyId: "crm-42", attributes: { tier: "gold" } });
 * emulator.getProfile({ thirdPartyId: "crm-42" })?.attributes; // { tier: "gold" }
 */
export function createTargetEmulator(options: TargetEmulatorOptions = {}): TargetEmulator {
  // Read the clock on every call, so that fake timers installed later still apply.
  const now = options.now ?? (() => Date.now());
  const timestamp = () => new Date(now()).toISOString();
  const calls: MutableCall[] = [];
  const faults = createFaultQueue();
  const failedRowIds = new Set<string>();
  const bulkLimit = createRollingLimit(options.bulkCallsPerMinute ?? BULK_CALLS_PER_MINUTE, BULK_CALL_WINDOW_MS);
  const quotas = createDailyQuotas(options);
  const visibilityDelay = options.visibilityDelay === "realistic" ? REALISTIC_DELAY : options.visibilityDelay;
  const pending = createPendingWrites(now);
  const edgeHost = options.edgeHost ?? "mboxedge45.tt.omtrdc.net";
  // Target's tnt ids end in their location hint, the cluster of the edge that made them (`.45_0`).
  const locationHint = `${/^mboxedge(\d+)\./.exec(edgeHost)?.[1] ?? "01"}_0`;
  let tntSequence = 0;
  const newTntId = () => `${now()}-${String(++tntSequence).padStart(6, "0")}.${locationHint}`;
  const store = createProfileStore(newTntId);
  const v2Writer = createConsecutiveBatchWriter(options.consecutiveBatches ?? "merge", store);
  const batches = createBatchService({
    store,
    failedRowIds,
    now,
    pollsUntilComplete: options.pollsUntilComplete ?? 1,
    edgeHost,
    pending,
    visibilityDelay: visibilityDelay?.batch ?? 0,
    v2Writer,
    statusUrls: options.statusUrls ?? "edge",
  });
  const writeUpdate = (apply: (at: string) => void) =>
    pending.add(visibilityDelay?.singleUpdate ?? 0, (at) => apply(new Date(at).toISOString()));
  // Real-time writes are visible at once: "the edge that served the call sees the new values". Served
  // over HTTP (statusUrls "request"), the edge host named is the emulator's own, as status URLs are.
  const edgeHostOf = (url: URL) => (options.statusUrls === "request" ? url.host : edgeHost);
  const delivery = createDeliveryService({ store, now, edgeHostOf, newTntId });

  function answer(
    request: Request,
    url: URL,
    route: Route | undefined,
    body: Uint8Array,
    check: BatchCheck | undefined,
  ): Response {
    // "There is no authentication for Target Delivery APIs."
    if (options.token !== undefined && route?.operation !== "delivery" && !isAuthorized(request, options.token)) {
      return jsonResponse(401, { status: 401, message: "Unauthorized" });
    }
    if (route === undefined) return jsonResponse(404, { status: 404, message: "Not Found" });
    const format = answerFormat(route);
    const methods = ROUTE_METHODS[route.operation];
    if (!methods.includes(request.method))
      return refusal(format, 405, "Method Not Allowed", { allow: methods.join(", ") });
    if (route.clientCode === undefined) return refusal(format, 400, "Missing client");
    if (options.clientCode !== undefined && route.clientCode !== options.clientCode) {
      return refusal(format, 404, `Unknown client ${route.clientCode}`);
    }
    const bulk = route.operation === "batchUpdate" || route.operation === "batchStatus";
    if (bulk && !bulkLimit.tryAcquire(now())) return refusal(format, 503, "Too many requests");
    const overQuota = quotas.take(route.operation, now());
    if (overQuota !== undefined) return overQuota;

    // Whatever has become visible by now is applied before the call reads or writes a profile. A
    // batch upload does neither (its rows queue behind the others), nor does a v2 batch's status
    // (see BatchOutcome.settle): a 500,000-row batch keeps being applied, a slice at a time, meanwhile.
    if (!bulk) pending.applyDue();
    switch (route.operation) {
      case "update":
        return handleSingleUpdate(request, body, store, writeUpdate);
      case "fetch":
        return handleProfileFetch(route.clientCode, route.idKind, route.encodedId, store);
      case "batchUpdate":
        return batches.submit(request, body, check ?? new BatchCheck(), route.clientCode, route.version);
      case "batchStatus":
        return batches.status(url);
      case "delivery":
        return delivery.answer(request, url, body, route.clientCode);
    }
  }

  async function handle(input: Request | string | URL, init?: RequestInit): Promise<Response> {
    // A Request is read as it is (with no init, or an empty one as ky passes): a copy of a streamed
    // one would pipe its body through a TransformStream, chunk by chunk. (A used one is copied: that
    // throws, as a fetch does.)
    const given = input instanceof Request && !input.bodyUsed && (init === undefined || Object.keys(init).length === 0);
    const request = given ? input : new Request(input, init);
    // A real fetch with an aborted signal never reaches the server.
    if (request.signal.aborted) throw request.signal.reason;
    const url = new URL(request.url);
    const route = matchRoute(url);
    const call: MutableCall = { method: request.method, status: 0, url: request.url, bodyBytes: 0 };
    if (route !== undefined) call.operation = route.operation;
    calls.push(call);

    // A Delivery API call counts in its session from now until answered (420 past Target's limit).
    const realtime = route?.operation === "delivery";
    const full = realtime ? delivery.enter(url) : undefined;
    if (full !== undefined) {
      call.status = full.status;
      return full;
    }
    try {
      // A batch is checked while it arrives: by its last byte, it is all but answered.
      const check = route?.operation === "batchUpdate" ? new BatchCheck() : undefined;
      if (check) pending.hold();
      let body: Uint8Array;
      try {
        body = await readBody(request, check && ((bytes, length) => check.feed(bytes, length)));
      } finally {
        if (check) pending.release();
      }
      call.bodyBytes = body.byteLength;
      const fault = faults.take(route?.operation);
      if (fault !== undefined && "disconnect" in fault) throw new TypeError("fetch failed");
      if (fault !== undefined && "delayMs" in fault) await delay(fault.delayMs, request.signal);
      const response =
        fault !== undefined && "status" in fault ? faultResponse(fault) : answer(request, url, route, body, check);
      call.status = response.status;
      return response;
    } finally {
      if (realtime) delivery.leave(url);
    }
  }

  return {
    fetch: handle,
    seedProfile(profile) {
      pending.applyDue();
      store.seed(profile, timestamp());
    },
    getProfile(id) {
      pending.applyDue();
      const record =
        id.thirdPartyId !== undefined
          ? store.find("thirdPartyId", id.thirdPartyId)
          : id.tntId !== undefined
            ? store.find("tntId", id.tntId)
            : store.find("marketingCloudVisitorId", id.marketingCloudVisitorId);
      return record && toStoredProfile(store, record);
    },
    profiles() {
      pending.applyDue();
      return [...store.records()].map((record) => toStoredProfile(store, record));
    },
    get calls() {
      return calls;
    },
    injectFaults: (fault) => faults.add(fault),
    deliveryStats: () => delivery.stats(),
    failRows(ids) {
      // Rows of batches already accepted and due are applied as they were, before these ids fail.
      pending.applyDue();
      for (const id of ids) failedRowIds.add(id);
    },
    reset() {
      calls.length = 0;
      store.clear();
      batches.clear();
      pending.clear();
      v2Writer.clear();
      faults.clear();
      failedRowIds.clear();
      bulkLimit.clear();
      quotas.clear();
      delivery.clear();
    },
  };
}

function isAuthorized(request: Request, token: string): boolean {
  const match = /^Bearer +(.+)$/i.exec(request.headers.get("authorization") ?? "");
  return match?.[1] === token;
}

function faultResponse(fault: Extract<FaultBehaviour, { status: number }>): Response {
  return new Response(fault.body ?? "", { status: fault.status, headers: fault.headers ?? {} });
}
