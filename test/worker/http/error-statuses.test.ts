import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { handleRequest } from "../../../worker/http/handle-request.js";
import { envWith, errorOf, fakeTarget, get, post, RELAY, send, WRITE_KEY } from "../helpers.js";

const CANARY_VALUE = "canary-value-51d7";

describe("400: invalid input names the field and the rule, never the value", () => {
  it.each([
    [
      "an empty string value",
      "/v1/profiles/crm-1",
      { attributes: { tier: "", city: CANARY_VALUE } },
      "attributes.tier",
    ],
    [
      "a value that is no scalar",
      "/v1/profiles/crm-1",
      { attributes: { tier: { nested: CANARY_VALUE } } },
      "attributes.tier",
    ],
    ["no attribute with a value", "/v1/profiles/crm-1", { attributes: { tier: null } }, "attributes"],
    [
      "a prefixed attribute name",
      "/v1/profiles/crm-1",
      { attributes: { "profile.tier": CANARY_VALUE } },
      'attributes["profile.tier"]',
    ],
    ["a missing attributes field", "/v1/profiles/crm-1", { tier: CANARY_VALUE }, "attributes"],
    ["an id with '+'", "/v1/profiles/crm%2B1", { attributes: { tier: CANARY_VALUE } }, "mbox3rdPartyId"],
    [
      "an id over 256 characters",
      `/v1/profiles/${"x".repeat(257)}`,
      { attributes: { tier: CANARY_VALUE } },
      "mbox3rdPartyId",
    ],
    [
      "a malformed percent-encoding",
      "/v1/profiles/crm%E0%A4%A",
      { attributes: { tier: CANARY_VALUE } },
      "mbox3rdPartyId",
    ],
    ["no updates", "/v1/profiles", { updates: [] }, "updates"],
    ["updates that are no array", "/v1/profiles", { updates: { mbox3rdPartyId: "crm-1" } }, "updates"],
    [
      "a bad row",
      "/v1/profiles",
      {
        updates: [
          { mbox3rdPartyId: "crm-1", attributes: { tier: "gold" } },
          { mbox3rdPartyId: "crm-2", attributes: { tier: [CANARY_VALUE] } },
        ],
      },
      "updates[1].attributes.tier",
    ],
    [
      "a row keyed by mboxPC",
      "/v1/profiles",
      { updates: [{ mboxPC: "1368007744041-575948.01_00", attributes: { tier: CANARY_VALUE } }] },
      "updates[0]",
    ],
    [
      "an unknown body field",
      "/v1/profiles",
      { updates: [{ mbox3rdPartyId: "crm-1", attributes: { a: "b" } }], dryRun: true },
      "dryRun",
    ],
  ])("%s", async (_, path, body, field) => {
    const { sent } = fakeTarget();

    const response = await send(post(path, body));

    expect(response.status).toBe(400);
    const error = await errorOf(response);
    expect(error).toMatchObject({ code: "invalid_input", field });
    expect(error.message).toContain(field);
    expect(JSON.stringify(error)).not.toContain(CANARY_VALUE);
    expect(sent).toEqual([]);
  });

  it("refuses a body that is not JSON, without quoting it", async () => {
    const response = await send(post("/v1/profiles/crm-1", `{"attributes": ${CANARY_VALUE}}`));

    expect(response.status).toBe(400);
    const error = await errorOf(response);
    expect(error.code).toBe("invalid_json");
    expect(error.message).not.toContain(CANARY_VALUE);
  });

  it("refuses a body that is not UTF-8", async () => {
    const request = new Request(`${RELAY}/v1/profiles/crm-1`, {
      method: "POST",
      headers: { authorization: `Bearer ${WRITE_KEY}`, "content-type": "application/json" },
      body: new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
    });

    const response = await send(request);

    expect(response.status).toBe(400);
    expect((await errorOf(response)).code).toBe("invalid_json");
  });

  it.each([
    ["an array", [1, 2]],
    ["a string", "gold"],
    ["null", null],
  ])("refuses a JSON body that is %s", async (_, body) => {
    const response = await send(post("/v1/profiles/crm-1", JSON.stringify(body)));

    expect(response.status).toBe(400);
    expect(await errorOf(response)).toEqual({ code: "invalid_input", message: "the body must be a JSON object" });
  });
});

describe("400: what a bad batch costs the relay is bounded by what it names", () => {
  it("checks a body of invalid updates only as far as the 5th, and names each by its first problem", async () => {
    const { sent } = fakeTarget();
    // 4 MB of empty updates, then an update whose every attribute name breaks a rule.
    const empties = Array(1_300_000).fill("{}").join(",");
    const manyBadNames = Object.fromEntries(Array.from({ length: 1_000 }, (_, index) => [`profile.${index}`, 1]));
    const body = `{"updates":[${empties},${JSON.stringify({ mbox3rdPartyId: "crm-1", attributes: manyBadNames })}]}`;

    const response = await send(post("/v1/profiles", body));

    expect(response.status).toBe(400);
    expect(await errorOf(response)).toEqual({
      code: "invalid_input",
      field: "updates[0].attributes",
      message: [0, 1, 2, 3, 4].map((index) => `updates[${index}].attributes: is required`).join("; "),
    });
    expect(sent).toEqual([]);
  });

  it("names only the first problem of an update with many", async () => {
    fakeTarget();
    const attributes = Object.fromEntries(Array.from({ length: 1_000 }, (_, index) => [`profile.${index}`, 1]));

    const response = await send(post("/v1/profiles", { updates: [{ mbox3rdPartyId: "crm-1", attributes }] }));

    expect(await errorOf(response)).toEqual({
      code: "invalid_input",
      field: 'updates[0].attributes["profile.0"]',
      message: `updates[0].attributes["profile.0"]: attribute names must not start with 'profile.': drop the prefix, it is added on the wire`,
    });
  });
});

describe("404: unknown routes", () => {
  it.each(["/", "/v1", "/v1/profiles/", "/v1/profiles/crm-1/extra", "/v2/profiles/crm-1", "/v1/profiles/%2e%2e"])(
    "%s",
    async (path) => {
      const response = await send(get(path));

      expect(response.status).toBe(404);
      expect(await errorOf(response)).toEqual({ code: "not_found", message: "no such route" });
    },
  );

  it("answers 404 when Target has no such profile", async () => {
    fakeTarget();

    const response = await send(get("/v1/profiles/crm-nobody"));

    expect(response.status).toBe(404);
    expect((await errorOf(response)).code).toBe("not_found");
  });

  it("answers 404 when Target knows no such batch", async () => {
    fakeTarget();

    const response = await send(get("/v1/batches/acme-1-1"));

    expect(response.status).toBe(404);
    expect((await errorOf(response)).code).toBe("not_found");
  });
});

describe("405: known routes, other methods", () => {
  it.each([
    ["DELETE", "/v1/profiles/crm-1", "GET, POST"],
    ["PUT", "/v1/profiles", "POST"],
    ["GET", "/v1/profiles", "POST"],
    ["POST", "/v1/batches/acme-1-1", "GET"],
    ["POST", "/healthz", "GET"],
  ])("%s %s allows %s", async (method, path, allow) => {
    const response = await send(
      new Request(RELAY + path, { method, headers: { authorization: `Bearer ${WRITE_KEY}` } }),
    );

    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toBe(allow);
    expect((await errorOf(response)).code).toBe("method_not_allowed");
  });
});

describe("413: bodies over the limit", () => {
  it("refuses a single update over 64 KB", async () => {
    const { sent } = fakeTarget();

    const response = await send(post("/v1/profiles/crm-1", { attributes: { notes: "x".repeat(64 * 1024) } }));

    expect(response.status).toBe(413);
    expect(await errorOf(response)).toEqual({
      code: "payload_too_large",
      message: "the body must be at most 65536 bytes",
    });
    expect(sent).toEqual([]);
  });

  it("stops reading a stream without Content-Length as soon as it passes the limit", async () => {
    let pulled = 0;
    const chunk = new TextEncoder().encode(" ".repeat(16 * 1024));
    // Never ends: a relay that read to the end would hang here.
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled += chunk.byteLength;
        controller.enqueue(chunk);
      },
    });
    const request = new Request(`${RELAY}/v1/profiles/crm-1`, {
      method: "POST",
      headers: { authorization: `Bearer ${WRITE_KEY}`, "content-type": "application/json" },
      body: endless,
    });
    expect(request.headers.get("content-length")).toBeNull();

    const response = await handleRequest(request, env);

    expect(response.status).toBe(413);
    expect(pulled).toBeLessThanOrEqual(64 * 1024 + 4 * chunk.byteLength);
  });

  it("refuses updates that need more than one batch file, and counts a repeated id once", async () => {
    const { sent } = fakeTarget();
    const relay = envWith({ RELAY_MAX_BATCH_ROWS: "2" });
    const update = (id: string) => ({ mbox3rdPartyId: id, attributes: { tier: "gold" } });

    const tooMany = await handleRequest(
      post("/v1/profiles", { updates: [update("a"), update("b"), update("c")] }),
      relay,
    );
    const merged = await handleRequest(
      post("/v1/profiles", { updates: [update("a"), update("b"), update("a")] }),
      relay,
    );

    expect(tooMany.status).toBe(413);
    expect(await errorOf(tooMany)).toEqual({
      code: "payload_too_large",
      field: "updates",
      message: "the updates hold 3 distinct mbox3rdPartyIds: send at most 2 per request",
    });
    expect(merged.status).toBe(202);
    expect(sent).toHaveLength(1);
  });
});

describe("415: bodies that are not JSON", () => {
  it.each([["text/plain"], ["application/x-www-form-urlencoded"], [null]])("Content-Type %s", async (type) => {
    const request = new Request(`${RELAY}/v1/profiles/crm-1`, {
      method: "POST",
      headers: { authorization: `Bearer ${WRITE_KEY}`, ...(type ? { "content-type": type } : {}) },
      body: new TextEncoder().encode('{"attributes":{"tier":"gold"}}'),
    });

    const response = await send(request);

    expect(response.status).toBe(415);
    expect((await errorOf(response)).code).toBe("unsupported_media_type");
  });

  it("takes application/json with a charset", async () => {
    const { emulator } = fakeTarget();
    emulator.seedProfile({ thirdPartyId: "crm-cs" });

    const response = await send(
      post(
        "/v1/profiles/crm-cs",
        { attributes: { tier: "gold" } },
        { headers: { "content-type": "Application/JSON; charset=utf-8" } },
      ),
    );

    expect(response.status).toBe(202);
  });
});
