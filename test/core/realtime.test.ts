import { afterEach, describe, expect, it, vi } from "vitest";
import { createTargetEmulator, type TargetEmulatorOptions } from "../../src/emulator/index.js";
import {
  buildDeliveryRequest,
  createMemorySessionStore,
  createTargetClient,
  isTargetHttpError,
  isTargetNetworkError,
  isTargetRejectedError,
  isTargetResponseError,
  isTargetValidationError,
  parseDeliveryResponse,
  type RealtimeSession,
  type RealtimeSessionStore,
  type TargetClientOptions,
} from "../../src/index.js";
import { failure } from "./support.js";

// Personal data that must never appear in an error.
const CANARY_ID = "canary-id-4b1d";
const CANARY_VALUE = "canary-value-9e2c";

const fastRetry = { limit: 2, baseDelay: 1, maxDelay: 5 };

/** A client on an emulator; `fetch` records every request's URL and lets a test break the edge. */
function setup(options: Partial<TargetClientOptions> = {}, emulatorOptions: TargetEmulatorOptions = {}) {
  const emulator = createTargetEmulator({ clientCode: "acme", ...emulatorOptions });
  const urls: string[] = [];
  const bodies: Record<string, unknown>[] = [];
  let edgeDown: "disconnect" | number | undefined;
  const fetch = vi.fn(async (input: Request, init?: RequestInit) => {
    const request = new Request(input, init);
    urls.push(request.url);
    if (request.method === "POST") bodies.push(JSON.parse(await request.clone().text()) as Record<string, unknown>);
    const onEdge = new URL(request.url).hostname.startsWith("mboxedge");
    if (onEdge && edgeDown === "disconnect") throw new TypeError("fetch failed");
    if (onEdge && typeof edgeDown === "number") return new Response("{}", { status: edgeDown });
    return emulator.fetch(request);
  });
  const target = createTargetClient({ clientCode: "acme", fetch, retry: fastRetry, ...options });
  return { emulator, fetch, target, urls, bodies, breakEdge: (how: typeof edgeDown) => (edgeDown = how) };
}

/** The JSON body a request carried. */
async function bodyOf(request: Request): Promise<Record<string, unknown>> {
  return (await request.json()) as Record<string, unknown>;
}

afterEach(() => {
  vi.useRealTimers();
});

describe("buildDeliveryRequest", () => {
  it("builds the documented POST: client and sessionId in the query, the id, one execute mbox, no token", async () => {
    const request = buildDeliveryRequest(
      { mbox3rdPartyId: "crm 42", attributes: { tier: "gold", ltv: 1200, vip: true, gone: null } },
      { clientCode: "acme", sessionId: "s-1", propertyToken: "p-token" },
    );
    expect(request.method).toBe("POST");
    expect(request.url).toBe("https://acme.tt.omtrdc.net/rest/v1/delivery?client=acme&sessionId=s-1");
    expect(request.headers.get("content-type")).toBe("application/json");
    expect(request.headers.get("authorization")).toBeNull();
    expect(await bodyOf(request)).toEqual({
      context: { channel: "web" },
      id: { thirdPartyId: "crm 42" },
      property: { token: "p-token" },
      execute: {
        mboxes: [
          { index: 1, name: "target-profile-sync", profileParameters: { tier: "gold", ltv: "1200", vip: "true" } },
        ],
      },
    });
  });

  it("keys a visitor by tnt id (mboxPC), under another mbox name, on another base URL", async () => {
    const request = buildDeliveryRequest(
      { mboxPC: "1368007744041-575948.28_0", attributes: { tier: "gold" } },
      { clientCode: "acme", baseUrl: "http://127.0.0.1:8080", sessionId: "s&1", mbox: "crm-sync" },
    );
    expect(request.url).toBe("http://127.0.0.1:8080/rest/v1/delivery?client=acme&sessionId=s%261");
    expect(await bodyOf(request)).toMatchObject({
      id: { tntId: "1368007744041-575948.28_0" },
      execute: { mboxes: [{ index: 1, name: "crm-sync" }] },
    });
  });

  it("spreads more than 50 attributes over mboxes of 50, each a billed call", async () => {
    const attributes = Object.fromEntries(Array.from({ length: 120 }, (_, i) => [`a${i}`, i]));
    const request = buildDeliveryRequest(
      { mbox3rdPartyId: "crm-1", attributes },
      { clientCode: "acme", sessionId: "s" },
    );
    const { execute } = (await bodyOf(request)) as {
      execute: { mboxes: { index: number; profileParameters: object }[] };
    };
    expect(
      execute.mboxes.map(({ index, profileParameters }) => [index, Object.keys(profileParameters).length]),
    ).toEqual([
      [1, 50],
      [2, 50],
      [3, 20],
    ]);
    expect(Object.assign({}, ...execute.mboxes.map((mbox) => mbox.profileParameters))).toEqual(
      Object.fromEntries(Object.entries(attributes).map(([name, value]) => [name, String(value)])),
    );
  });

  it.each([
    ["a value of 257 characters", { mbox3rdPartyId: "x", attributes: { note: "v".repeat(257) } }, "attributes.note"],
    ["a name of 129 characters", { mbox3rdPartyId: "x", attributes: { ["n".repeat(129)]: "v" } }, "attributes"],
    ["a profile.-prefixed name", { mbox3rdPartyId: "x", attributes: { "profile.tier": "v" } }, "attributes"],
    ["an empty value", { mbox3rdPartyId: "x", attributes: { tier: "" } }, "attributes.tier"],
    ["a thirdPartyId of 257 characters", { mbox3rdPartyId: "i".repeat(257), attributes: { a: 1 } }, "mbox3rdPartyId"],
    ["a tnt id of 129 characters", { mboxPC: "t".repeat(129), attributes: { a: 1 } }, "mboxPC"],
    ["a tnt id with two dots", { mboxPC: "a.b.28_0", attributes: { a: 1 } }, "mboxPC"],
  ] as const)("refuses %s, naming the field", (_, update, path) => {
    const error = (() => {
      try {
        buildDeliveryRequest(update as never, { clientCode: "acme", sessionId: "s" });
      } catch (caught) {
        return caught;
      }
      throw new Error("expected a refusal");
    })();
    expect(isTargetValidationError(error)).toBe(true);
    if (!isTargetValidationError(error)) return;
    expect(error.issues[0]?.path.startsWith(path)).toBe(true);
  });

  it("takes values of exactly 256 characters and 50 attributes in one mbox", async () => {
    const attributes = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`a${i}`, "v".repeat(256)]));
    const request = buildDeliveryRequest({ mbox3rdPartyId: "x", attributes }, { clientCode: "acme", sessionId: "s" });
    expect(((await bodyOf(request)) as { execute: { mboxes: unknown[] } }).execute.mboxes).toHaveLength(1);
  });

  it.each([
    ["a sessionId with a space", { sessionId: "a b" }],
    ["a sessionId with a '/'", { sessionId: "a/b" }],
    ["a sessionId of 129 characters", { sessionId: "s".repeat(129) }],
    ["an mbox name ending in -clicked", { sessionId: "s", mbox: "sync-clicked" }],
    ["an mbox name of 251 characters", { sessionId: "s", mbox: "m".repeat(251) }],
    ["an mbox name Target keeps", { sessionId: "s", mbox: "any mbox" }],
    ["an empty property token", { sessionId: "s", propertyToken: "" }],
  ])("refuses %s", (_, options) => {
    expect(() =>
      buildDeliveryRequest({ mbox3rdPartyId: "x", attributes: { a: 1 } }, { clientCode: "acme", ...options }),
    ).toThrow(expect.objectContaining({ name: "TargetValidationError" }) as Error);
  });
});

describe("parseDeliveryResponse", () => {
  it("reads the ids, the edge host, the request id and the mboxes executed", () => {
    expect(
      parseDeliveryResponse(
        JSON.stringify({
          status: 200,
          requestId: "r-1",
          client: "acme",
          id: { tntId: "a1.28_0", thirdPartyId: "crm-42" },
          edgeHost: "mboxedge28.tt.omtrdc.net",
          execute: {
            mboxes: [
              { index: 1, name: "target-profile-sync" },
              { index: 2, name: "target-profile-sync" },
            ],
          },
        }),
      ),
    ).toEqual({
      requestId: "r-1",
      tntId: "a1.28_0",
      thirdPartyId: "crm-42",
      edgeHost: "mboxedge28.tt.omtrdc.net",
      mboxes: 2,
    });
  });

  it.each([
    ["not JSON", "<html>"],
    ["no request id", JSON.stringify({ status: 200, id: { tntId: "a" } })],
    ["another status", JSON.stringify({ status: 400, requestId: "r", message: "Invalid property token" })],
  ])("refuses an answer with %s", (_, text) => {
    expect(() => parseDeliveryResponse(text)).toThrow(
      expect.objectContaining({ name: "TargetResponseError" }) as Error,
    );
  });
});

describe("updateProfileRealtime", () => {
  it("creates an unknown visitor's profile, visible at once, and answers what a caller can use", async () => {
    const { emulator, target } = setup();
    const result = await target.updateProfileRealtime({
      mbox3rdPartyId: "crm-new",
      attributes: { tier: "gold", ltv: 1200, vip: false },
    });

    expect(result).toMatchObject({
      tntId: expect.stringMatching(/\.45_0$/),
      thirdPartyId: "crm-new",
      edgeHost: "mboxedge45.tt.omtrdc.net",
      mboxes: 1,
      requestId: expect.any(String),
      sessionId: expect.stringMatching(/^[0-9a-f]{32}$/),
    });
    expect(emulator.getProfile({ thirdPartyId: "crm-new" })?.attributes).toEqual({
      tier: "gold",
      ltv: "1200",
      vip: "false",
    });
    const profile = await target.getProfile({ thirdPartyId: "crm-new" });
    expect(profile?.profileAttributes["tier"]?.value).toBe("gold");
    expect(emulator.deliveryStats().billedCalls).toBe(1);
  });

  it("writes by tnt id, with the client's mbox name and property token", async () => {
    const { emulator, bodies, target } = setup({ realtimeMbox: "crm-sync", propertyToken: "p-1" });
    emulator.seedProfile({ tntId: "1368007744041-575948.45_0" });
    await target.updateProfileRealtime({ mboxPC: "1368007744041-575948.45_0", attributes: { loan: "approved" } });
    await target.updateProfileRealtime(
      { mboxPC: "1368007744041-575948.45_0", attributes: { loan: "paid" } },
      { propertyToken: "p-2" },
    );
    expect(bodies.map((body) => body["property"])).toEqual([{ token: "p-1" }, { token: "p-2" }]);
    expect(bodies[0]).toMatchObject({ execute: { mboxes: [{ name: "crm-sync" }] } });
    expect(emulator.getProfile({ tntId: "1368007744041-575948.45_0" })?.attributes).toEqual({ loan: "paid" });
  });

  it("bills one call per 50 attributes", async () => {
    const { emulator, target } = setup();
    const attributes = Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`a${i}`, i]));
    const { mboxes } = await target.updateProfileRealtime({ mbox3rdPartyId: "crm-1", attributes });
    expect(mboxes).toBe(3);
    expect(emulator.deliveryStats().billedCalls).toBe(3);
    expect(Object.keys(emulator.getProfile({ thirdPartyId: "crm-1" })?.attributes ?? {})).toHaveLength(101);
  });

  it("refuses what the Delivery API cannot take before anything is sent, naming the field and not the value", async () => {
    const { fetch, target } = setup();
    const error = await failure(
      target.updateProfileRealtime({ mbox3rdPartyId: CANARY_ID, attributes: { note: `${CANARY_VALUE}`.repeat(20) } }),
    );
    expect(isTargetValidationError(error)).toBe(true);
    expect(error.message).toContain("attributes.note");
    expect(error.message).toContain("256");
    expect(JSON.stringify({ ...error, message: error.message })).not.toMatch(/canary/);
    expect(fetch).not.toHaveBeenCalled();
  });

  it("refuses invalid options when the client is created", () => {
    expect(() => createTargetClient({ clientCode: "acme", realtimeMbox: "display mboxes" })).toThrow(/realtimeMbox/);
    expect(() => createTargetClient({ clientCode: "acme", sessionStore: {} as never })).toThrow(/sessionStore/);
    expect(() => createTargetClient({ clientCode: "acme", propertyToken: "" })).toThrow(/propertyToken/);
  });
});

describe("updateProfileRealtime sessions", () => {
  it("keeps one sessionId per visitor and never shares one between visitors", async () => {
    const { emulator, fetch, target } = setup();
    const visitors = ["crm-1", "crm-2", "crm-3"];
    const results = [];
    for (let round = 0; round < 4; round++) {
      results.push(
        ...(await Promise.all(
          visitors.map((mbox3rdPartyId) => target.updateProfileRealtime({ mbox3rdPartyId, attributes: { round } })),
        )),
      );
    }
    const sessionsOf = new Map<string, Set<string>>();
    for (const { thirdPartyId, sessionId } of results) {
      sessionsOf.set(thirdPartyId as string, (sessionsOf.get(thirdPartyId as string) ?? new Set()).add(sessionId));
    }
    expect([...sessionsOf.values()].map((sessions) => sessions.size)).toEqual([1, 1, 1]);
    expect(new Set(results.map(({ sessionId }) => sessionId)).size).toBe(3);
    // The query carries the session Target sees.
    const queried = fetch.mock.calls.map(([request]) => new URL(request.url).searchParams.get("sessionId"));
    expect(new Set(queried)).toEqual(new Set(results.map(({ sessionId }) => sessionId)));
    expect(emulator.deliveryStats()).toMatchObject({ sessionSwitches: 0, sharedSessions: 0, billedCalls: 12 });
  });

  it("starts a new session once the last one has been idle past Target's 30 minutes (31, as Adobe's SDKs)", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.parse("2026-03-01T10:00:00Z"));
    const { emulator, target } = setup();
    const write = () => target.updateProfileRealtime({ mbox3rdPartyId: "crm-1", attributes: { a: 1 } });

    const first = await write();
    vi.setSystemTime(Date.now() + 30 * 60_000 + 30_000);
    const second = await write(); // within the 31 minutes: the same session
    vi.setSystemTime(Date.now() + 31 * 60_000 + 1);
    const third = await write();

    expect(second.sessionId).toBe(first.sessionId);
    expect(third.sessionId).not.toBe(first.sessionId);
    expect(emulator.deliveryStats().sessionSwitches).toBe(0);
  });

  it("keeps sessions in the store it is given, by id kind and id", async () => {
    const saved: [string, RealtimeSession][] = [];
    const memory = createMemorySessionStore();
    const store: RealtimeSessionStore = {
      open: (visitor, fresh, now) => memory.open(visitor, fresh, now),
      async save(visitor, session, now) {
        saved.push([visitor, session]);
        await memory.save(visitor, session, now);
      },
    };
    const { target } = setup({ sessionStore: store });
    const result = await target.updateProfileRealtime({ mbox3rdPartyId: "crm-1", attributes: { a: 1 } });
    await target.updateProfileRealtime({ mboxPC: result.tntId as string, attributes: { a: 2 } });

    expect(saved.map(([visitor]) => visitor)).toEqual(["thirdPartyId:crm-1", `tntId:${result.tntId}`]);
    expect(saved[0]?.[1]).toMatchObject({
      sessionId: result.sessionId,
      edgeHost: "mboxedge45.tt.omtrdc.net",
      tntId: result.tntId,
      expiresAt: expect.any(Number),
    });
  });

  it("saves a visitor's session once for a burst of calls, and again when its expiry moves by over a minute", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.parse("2026-03-01T10:00:00Z"));
    const memory = createMemorySessionStore();
    let saves = 0;
    const { target } = setup({
      sessionStore: {
        open: (...args) => memory.open(...args),
        save(...args) {
          saves++;
          return memory.save(...args);
        },
      },
    });
    const write = () => target.updateProfileRealtime({ mbox3rdPartyId: "crm-1", attributes: { a: 1 } });

    const first = await write(); // a new session: saved with its edge host and tnt id
    for (let call = 0; call < 5; call++) await write();
    expect(saves).toBe(1);
    vi.setSystemTime(Date.now() + 61_000);
    await write(); // the kept expiry would lag by over a minute
    expect(saves).toBe(2);
    // 30 minutes after that last call, the session still holds.
    vi.setSystemTime(Date.now() + 30 * 60_000 - 1);
    expect((await write()).sessionId).toBe(first.sessionId);
  });

  it("fails without sending when the store cannot open a session, and resolves when it cannot save one", async () => {
    const broken = setup({
      sessionStore: { open: () => Promise.reject(new Error("store down")), save: () => undefined },
    });
    await expect(
      broken.target.updateProfileRealtime({ mbox3rdPartyId: "crm-1", attributes: { a: 1 } }),
    ).rejects.toThrow("store down");
    expect(broken.fetch).not.toHaveBeenCalled();

    const memory = createMemorySessionStore();
    const forgetful = setup({
      sessionStore: { open: (...args) => memory.open(...args), save: () => Promise.reject(new Error("store down")) },
    });
    await expect(
      forgetful.target.updateProfileRealtime({ mbox3rdPartyId: "crm-1", attributes: { a: 1 } }),
    ).resolves.toMatchObject({ mboxes: 1 });
    expect(forgetful.emulator.getProfile({ thirdPartyId: "crm-1" })?.attributes).toEqual({ a: "1" });
  });

  it("holds calls of one session past Target's 100 concurrent requests, instead of getting 420s", async () => {
    const { emulator, target } = setup();
    await target.updateProfileRealtime({ mbox3rdPartyId: "crm-1", attributes: { n: -1 } });
    emulator.injectFaults({ times: 150, delayMs: 5, operations: ["delivery"] });
    await Promise.all(
      Array.from({ length: 150 }, (_, n) =>
        target.updateProfileRealtime({ mbox3rdPartyId: "crm-1", attributes: { n } }),
      ),
    );
    expect(emulator.deliveryStats().maxConcurrentRequests).toBe(100);
    expect(emulator.calls.filter((call) => call.status === 420)).toEqual([]);
    expect(emulator.deliveryStats()).toMatchObject({ sessionSwitches: 0, billedCalls: 151 });
  });
});

describe("memory session store", () => {
  const session = (sessionId: string, expiresAt = 10_000): RealtimeSession => ({ sessionId, expiresAt });

  it("opens the live session, or keeps the fresh one", async () => {
    const store = createMemorySessionStore();
    expect(await store.open("v", session("a"), 0)).toEqual(session("a"));
    expect(await store.open("v", session("b"), 1)).toEqual(session("a"));
    expect(await store.open("v", session("c"), 10_000)).toEqual(session("c")); // a expired
  });

  it("saves over the same session only, keeping the later expiry", async () => {
    const store = createMemorySessionStore();
    await store.open("v", session("a", 5_000), 0);
    await store.save("v", { ...session("b", 9_000), edgeHost: "mboxedge1.tt.omtrdc.net" }, 1); // another session: ignored
    expect(await store.open("v", session("x"), 2)).toEqual(session("a", 5_000));
    await store.save("v", { ...session("a", 8_000), edgeHost: "mboxedge1.tt.omtrdc.net" }, 3);
    expect(await store.open("v", session("x"), 4)).toEqual({
      ...session("a", 8_000),
      edgeHost: "mboxedge1.tt.omtrdc.net",
    });
  });

  it("is bounded: past maxSessions the least recently used goes", async () => {
    const store = createMemorySessionStore({ maxSessions: 2 });
    await store.open("v1", session("a"), 0);
    await store.open("v2", session("b"), 0);
    await store.open("v1", session("x"), 1); // v1 used again: v2 is now the least recent
    await store.open("v3", session("c"), 2);
    expect(await store.open("v1", session("y"), 3)).toEqual(session("a"));
    expect(await store.open("v2", session("z"), 3)).toEqual(session("z"));
    expect(() => createMemorySessionStore({ maxSessions: 0 })).toThrow(/maxSessions/);
  });
});

describe("updateProfileRealtime edge hosts", () => {
  it("sends a visitor's later calls to the edge host Target answered from, over https", async () => {
    const { target, urls } = setup({ baseUrl: "http://127.0.0.1:9" }, { edgeHost: "mboxedge28.tt.omtrdc.net" });
    await target.updateProfileRealtime({ mbox3rdPartyId: "crm-1", attributes: { a: 1 } });
    await target.updateProfileRealtime({ mbox3rdPartyId: "crm-1", attributes: { a: 2 } });
    await target.updateProfileRealtime({ mbox3rdPartyId: "crm-2", attributes: { a: 1 } });
    expect(urls.map((url) => new URL(url).origin)).toEqual([
      "http://127.0.0.1:9",
      "https://mboxedge28.tt.omtrdc.net",
      "http://127.0.0.1:9",
    ]);
  });

  it("follows an edge host on the configured host itself, with the configured base URL", async () => {
    // A proxy in front of Target, at a path: the emulator behind it sees Target's own paths.
    const emulator = createTargetEmulator({ edgeHost: "127.0.0.1:9" });
    const urls: string[] = [];
    const fetch = async (request: Request) => {
      urls.push(request.url);
      return emulator.fetch(new Request(request.url.replace("/target/", "/"), request));
    };
    const target = createTargetClient({ clientCode: "acme", baseUrl: "http://127.0.0.1:9/target", fetch });
    await target.updateProfileRealtime({ mbox3rdPartyId: "crm-1", attributes: { a: 1 } });
    const second = await target.updateProfileRealtime({ mbox3rdPartyId: "crm-1", attributes: { a: 2 } });
    expect(second.edgeHost).toBe("127.0.0.1:9");
    expect(urls).toHaveLength(2);
    expect(urls.every((url) => url.startsWith("http://127.0.0.1:9/target/rest/v1/delivery?"))).toBe(true);
  });

  it.each([
    "evil.example.com",
    "mboxedge28.tt.omtrdc.net.evil.example.com",
    "tt.omtrdc.net",
    "evil.example.com/x.tt.omtrdc.net",
    "user@mboxedge28.tt.omtrdc.net",
    "evil.example.com?.tt.omtrdc.net",
    "evil.example.com#.tt.omtrdc.net",
    "mboxedge28.tt.omtrdc.net:8443/path",
  ])("never follows an edge host outside the allow-list: %s", async (edgeHost) => {
    const { target, urls } = setup({}, { edgeHost });
    await target.updateProfileRealtime({ mbox3rdPartyId: "crm-1", attributes: { a: 1 } });
    await target.updateProfileRealtime({ mbox3rdPartyId: "crm-1", attributes: { a: 2 } });
    expect(urls.map((url) => new URL(url).host)).toEqual(["acme.tt.omtrdc.net", "acme.tt.omtrdc.net"]);
  });

  it.each([
    ["drops the connection", "disconnect" as const],
    ["answers 503", 503],
  ])("falls back to the client's host when the edge %s, in the same session", async (_, how) => {
    const { emulator, target, urls, breakEdge } = setup();
    const first = await target.updateProfileRealtime({ mbox3rdPartyId: "crm-1", attributes: { a: 1 } });
    breakEdge(how);
    const second = await target.updateProfileRealtime({ mbox3rdPartyId: "crm-1", attributes: { a: 2 } });

    expect(second.sessionId).toBe(first.sessionId);
    // The edge with its retries, then the client's host.
    expect(urls.map((url) => new URL(url).host)).toEqual([
      "acme.tt.omtrdc.net",
      "mboxedge45.tt.omtrdc.net",
      "mboxedge45.tt.omtrdc.net",
      "mboxedge45.tt.omtrdc.net",
      "acme.tt.omtrdc.net",
    ]);
    expect(emulator.getProfile({ thirdPartyId: "crm-1" })?.attributes).toEqual({ a: "2" });
  });

  it("does not fall back when the edge refuses the call itself (400)", async () => {
    const { target, urls, breakEdge } = setup();
    await target.updateProfileRealtime({ mbox3rdPartyId: "crm-1", attributes: { a: 1 } });
    breakEdge(400);
    const error = await failure(target.updateProfileRealtime({ mbox3rdPartyId: "crm-1", attributes: { a: 2 } }));
    expect(isTargetRejectedError(error) || isTargetHttpError(error)).toBe(true);
    expect(urls.slice(1).map((url) => new URL(url).host)).toEqual(["mboxedge45.tt.omtrdc.net"]);
  });
});

describe("updateProfileRealtime errors and retries", () => {
  it("makes a 400 final, with Target's message kept out of `message`", async () => {
    const { emulator, fetch, target } = setup();
    emulator.injectFaults({
      status: 400,
      body: JSON.stringify({ status: 400, message: `Invalid property token for ${CANARY_ID}` }),
      operations: ["delivery"],
    });
    const error = await failure(
      target.updateProfileRealtime({ mbox3rdPartyId: CANARY_ID, attributes: { a: CANARY_VALUE } }),
    );
    expect(isTargetRejectedError(error)).toBe(true);
    if (!isTargetRejectedError(error)) return;
    expect(error).toMatchObject({ status: 400, operation: "updateProfileRealtime" });
    expect(error.targetMessage).toContain("Invalid property token");
    expect(error.message).not.toMatch(/canary|property token/);
    expect(fetch).toHaveBeenCalledTimes(1);
  });

  it("retries 420 (too many requests in the session) and 5xx, then succeeds", async () => {
    const { emulator, fetch, target } = setup();
    emulator.injectFaults({
      status: 420,
      body: JSON.stringify({ status: 420, message: "Too many requests with same session ID" }),
      operations: ["delivery"],
    });
    emulator.injectFaults({ status: 502, operations: ["delivery"] });
    await target.updateProfileRealtime({ mbox3rdPartyId: "crm-1", attributes: { a: 1 } });
    expect(fetch).toHaveBeenCalledTimes(3);
    expect(emulator.calls.map((call) => call.status)).toEqual([420, 502, 200]);
  });

  it("gives up after the retries: 420 as an HTTP error, a network failure as one, free of ids and values", async () => {
    const busy = setup();
    busy.emulator.injectFaults({ times: 3, status: 420, body: "{}", operations: ["delivery"] });
    const tooMany = await failure(
      busy.target.updateProfileRealtime({ mbox3rdPartyId: CANARY_ID, attributes: { a: CANARY_VALUE } }),
    );
    expect(isTargetHttpError(tooMany) && tooMany.status === 420).toBe(true);
    expect(busy.fetch).toHaveBeenCalledTimes(3);

    const down = setup();
    down.emulator.injectFaults({ times: 3, disconnect: true, operations: ["delivery"] });
    const unreachable = await failure(
      down.target.updateProfileRealtime({ mbox3rdPartyId: CANARY_ID, attributes: { a: CANARY_VALUE } }),
    );
    expect(isTargetNetworkError(unreachable)).toBe(true);
    for (const error of [tooMany, unreachable])
      expect(`${error.message} ${JSON.stringify(error)}`).not.toMatch(/canary/);
  });

  it("reports an answer that is not the Delivery API's", async () => {
    const { emulator, target } = setup();
    emulator.injectFaults({ status: 200, body: "<html>maintenance</html>", operations: ["delivery"] });
    const error = await failure(target.updateProfileRealtime({ mbox3rdPartyId: "crm-1", attributes: { a: 1 } }));
    expect(isTargetResponseError(error)).toBe(true);
  });

  it("stops on the caller's signal", async () => {
    const { emulator, target } = setup();
    emulator.injectFaults({ delayMs: 1_000, operations: ["delivery"] });
    const controller = new AbortController();
    const call = target.updateProfileRealtime(
      { mbox3rdPartyId: "crm-1", attributes: { a: 1 } },
      { signal: controller.signal },
    );
    controller.abort(new Error("stop"));
    await expect(call).rejects.toThrow("stop");
  });
});
