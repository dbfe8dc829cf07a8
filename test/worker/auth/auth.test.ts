import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { handleRequest } from "../../../worker/http/handle-request.js";
import {
  ADMIN_KEY,
  capturedLogs,
  envWith,
  errorOf,
  fakeTarget,
  get,
  post,
  READ_KEY,
  requestLines,
  send,
  TARGET_TOKEN,
  WRITE_KEY,
} from "../helpers.js";

const update = { attributes: { tier: "gold" } };

describe("authentication: Authorization: Bearer KEY", () => {
  it.each([
    ["no Authorization header", undefined, "missing credentials: send Authorization: Bearer <key>"],
    ["an unknown key", "Bearer not-a-relay-key-0123456789abcdefghij", "invalid credentials"],
    ["a known key, one character short", `Bearer ${WRITE_KEY.slice(0, -1)}`, "invalid credentials"],
    ["a known key, one character long", `Bearer ${WRITE_KEY}x`, "invalid credentials"],
    ["a known key in another case", `Bearer ${WRITE_KEY.toUpperCase()}`, "invalid credentials"],
    ["the Target token", `Bearer ${TARGET_TOKEN}`, "invalid credentials"],
    [
      "a known key with the Basic scheme",
      `Basic ${WRITE_KEY}`,
      "invalid credentials: send Authorization: Bearer <key>",
    ],
    ["an empty Bearer", "Bearer ", "invalid credentials: send Authorization: Bearer <key>"],
  ])("refuses %s with 401, before reading the body or calling Target", async (_, authorization, message) => {
    const { sent } = fakeTarget();
    const headers = authorization === undefined ? {} : { authorization };

    const response = await send(post("/v1/profiles/crm-1", update, { key: null, headers }));

    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toBe('Bearer realm="target-profile-relay"');
    expect(await errorOf(response)).toEqual({ code: "unauthorized", message });
    expect(sent).toEqual([]);
  });

  it("accepts a write key, case-insensitive scheme included", async () => {
    const { emulator } = fakeTarget();
    emulator.seedProfile({ thirdPartyId: "crm-a1" });

    const response = await send(
      post("/v1/profiles/crm-a1", update, { key: null, headers: { authorization: `bearer ${WRITE_KEY}` } }),
    );

    expect(response.status).toBe(202);
    expect(emulator.getProfile({ thirdPartyId: "crm-a1" })?.attributes).toEqual({ tier: "gold" });
  });

  it("never forwards the caller's Authorization to Target", async () => {
    const { emulator, sent } = fakeTarget();
    emulator.seedProfile({ thirdPartyId: "crm-a2" });

    await send(post("/v1/profiles/crm-a2", update));

    expect(sent.map(({ headers }) => headers.authorization)).toEqual([`Bearer ${TARGET_TOKEN}`]);
  });

  it("takes every key of a rotation, names each in the logs, and drops a removed one", async () => {
    fakeTarget();
    const oldKey = "crm-old-key-0123456789abcdef0123456789";
    const newKey = "crm-new-key-9876543210fedcba9876543210";
    const entry = (name: string, key: string) => ({ name, key, scope: "write" });
    const rotating = envWith({ RELAY_KEYS: JSON.stringify([entry("crm-2025", oldKey), entry("crm-2026", newKey)]) });
    const rotated = envWith({ RELAY_KEYS: JSON.stringify([entry("crm-2026", newKey)]) });

    const statuses: number[] = [];
    const lines = await capturedLogs(async () => {
      statuses.push((await handleRequest(post("/v1/profiles/crm-1", update, { key: oldKey }), rotating)).status);
      statuses.push((await handleRequest(post("/v1/profiles/crm-1", update, { key: newKey }), rotating)).status);
      statuses.push((await handleRequest(post("/v1/profiles/crm-1", update, { key: oldKey }), rotated)).status);
      statuses.push((await handleRequest(post("/v1/profiles/crm-1", update, { key: newKey }), rotated)).status);
    });

    expect(statuses).toEqual([202, 202, 401, 202]);
    expect(requestLines(lines).map((line) => line.key)).toEqual(["crm-2025", "crm-2026", undefined, "crm-2026"]);
  });
});

describe("scopes", () => {
  it("refuses a read key on the write routes with 403, sending nothing", async () => {
    const { sent } = fakeTarget();

    const single = await send(post("/v1/profiles/crm-1", update, { key: READ_KEY }));
    const batch = await send(
      post("/v1/profiles", { updates: [{ mbox3rdPartyId: "crm-1", ...update }] }, { key: READ_KEY }),
    );

    for (const response of [single, batch]) {
      expect(response.status).toBe(403);
      expect(await errorOf(response)).toEqual({
        code: "forbidden",
        message: "this route needs a key with the write scope",
      });
    }
    expect(sent).toEqual([]);
  });

  it("reads profiles for read-scoped keys only", async () => {
    const { emulator } = fakeTarget();
    emulator.seedProfile({ thirdPartyId: "crm-s", attributes: { tier: "gold" } });

    const writer = await send(get("/v1/profiles/crm-s", { key: WRITE_KEY }));
    const reader = await send(get("/v1/profiles/crm-s", { key: READ_KEY }));

    expect(writer.status).toBe(403);
    expect(await errorOf(writer)).toEqual({ code: "forbidden", message: "this route needs a key with the read scope" });
    expect(reader.status).toBe(200);
  });

  it("lets a key with both scopes ('read write') write and read", async () => {
    const { emulator } = fakeTarget();
    emulator.seedProfile({ thirdPartyId: "crm-both" });

    const written = await send(post("/v1/profiles/crm-both", update, { key: ADMIN_KEY }));
    const read = await send(get("/v1/profiles/crm-both", { key: ADMIN_KEY }));

    expect(written.status).toBe(202);
    expect(await read.json()).toMatchObject({ attributes: { tier: "gold" } });
  });
});

describe("rate limiting, per key name", () => {
  it("answers 429 with Retry-After once a key has used its share, other keys unaffected", async () => {
    fakeTarget();
    const tight = envWith({ RELAY_RATE_LIMIT: env.TEST_TIGHT_RATE_LIMIT });

    const reader = [];
    for (let i = 0; i < 3; i++) reader.push(await handleRequest(get("/v1/profiles/crm-rl"), tight));
    const writer = await handleRequest(get("/v1/batches/acme-1-1", { key: WRITE_KEY }), tight);

    expect(reader.map(({ status }) => status)).toEqual([404, 404, 429]);
    expect(reader[2]?.headers.get("retry-after")).toBe("60");
    expect(await errorOf(reader[2] as Response)).toEqual({
      code: "rate_limited",
      message: "too many requests for this key",
    });
    expect(writer.status).toBe(404);
  });

  it("keys the limit by the key's name, never the key itself, and checks it before the body", async () => {
    const { sent } = fakeTarget();
    const limit = vi.fn(async (_: RateLimitOptions) => ({ success: false }));

    const response = await handleRequest(
      post("/v1/profiles/crm-1", "not even JSON"),
      envWith({ RELAY_RATE_LIMIT: { limit } }),
    );

    expect(response.status).toBe(429);
    expect(limit.mock.calls).toEqual([[{ key: "test-writer" }]]);
    expect(sent).toEqual([]);
  });
});
