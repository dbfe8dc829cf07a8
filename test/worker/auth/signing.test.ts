import { describe, expect, it } from "vitest";
import { handleRequest } from "../../../worker/http/handle-request.js";
import { envWith, errorOf, fakeTarget, get, post } from "../helpers.js";

const SECRET = "canary-signing-secret-1f2e3d4c5b6a7988";
const NEXT_SECRET = "canary-signing-secret-next-a1b2c3d4e5f6";
const signed = envWith({ RELAY_SIGNING_SECRETS: JSON.stringify([SECRET]) });
const rotating = envWith({ RELAY_SIGNING_SECRETS: JSON.stringify([SECRET, NEXT_SECRET]) });
const rotated = envWith({ RELAY_SIGNING_SECRETS: JSON.stringify([NEXT_SECRET]) });

const encoder = new TextEncoder();
const now = () => Math.floor(Date.now() / 1000);

/** The documented signature, computed here independently: HMAC-SHA256 of `TIMESTAMP.BODY`, hex. */
async function sign(secret: string, body: string, timestamp = now()) {
  const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(`${timestamp}.${body}`)));
  const hex = [...mac].map((byte) => byte.toString(16).padStart(2, "0")).join("");
  return { "x-relay-timestamp": String(timestamp), "x-relay-signature": `v1=${hex}` };
}

const body = JSON.stringify({ attributes: { tier: "gold" } });

function seeded() {
  const target = fakeTarget();
  target.emulator.seedProfile({ thirdPartyId: "crm-sig" });
  return target;
}

async function expectRefused(response: Response, message: string) {
  expect(response.status).toBe(401);
  expect(await errorOf(response)).toEqual({ code: "invalid_signature", message });
}

describe("request signing (when RELAY_SIGNING_SECRETS is set)", () => {
  it("accepts a request signed over TIMESTAMP.RAW_BODY", async () => {
    const { emulator } = seeded();

    const response = await handleRequest(
      post("/v1/profiles/crm-sig", body, { headers: await sign(SECRET, body) }),
      signed,
    );

    expect(response.status).toBe(202);
    expect(emulator.getProfile({ thirdPartyId: "crm-sig" })?.attributes).toEqual({ tier: "gold" });
  });

  it("signs a GET over its empty body", async () => {
    seeded();

    const response = await handleRequest(get("/v1/profiles/crm-sig", { headers: await sign(SECRET, "") }), signed);

    expect(response.status).toBe(200);
  });

  it("refuses an unsigned request", async () => {
    const { sent } = seeded();

    const response = await handleRequest(post("/v1/profiles/crm-sig", body), signed);

    await expectRefused(response, "missing request signature: send x-relay-timestamp and x-relay-signature");
    expect(sent).toEqual([]);
  });

  it("refuses a tampered body", async () => {
    const { sent } = seeded();
    const tampered = JSON.stringify({ attributes: { tier: "platinum" } });

    const response = await handleRequest(
      post("/v1/profiles/crm-sig", tampered, { headers: await sign(SECRET, body) }),
      signed,
    );

    await expectRefused(response, "the request signature does not match");
    expect(sent).toEqual([]);
  });

  it("refuses a signature whose timestamp was changed", async () => {
    seeded();
    const headers = { ...(await sign(SECRET, body)), "x-relay-timestamp": String(now() - 10) };

    await expectRefused(
      await handleRequest(post("/v1/profiles/crm-sig", body, { headers }), signed),
      "the request signature does not match",
    );
  });

  it.each([
    [-301, 401],
    [-299, 202],
    [299, 202],
    [301, 401],
  ])("takes timestamps within ±5 minutes: %i s → %i", async (offset, status) => {
    seeded();

    const response = await handleRequest(
      post("/v1/profiles/crm-sig", body, { headers: await sign(SECRET, body, now() + offset) }),
      signed,
    );

    expect(response.status).toBe(status);
    if (status === 401) {
      expect(await errorOf(response)).toMatchObject({
        code: "invalid_signature",
        message: "x-relay-timestamp is more than 300 seconds from the relay's clock",
      });
    }
  });

  it("refuses a signature made with another secret", async () => {
    seeded();

    const response = await handleRequest(
      post("/v1/profiles/crm-sig", body, { headers: await sign("some-other-secret-0123456789abcdef", body) }),
      signed,
    );

    await expectRefused(response, "the request signature does not match");
  });

  it("rotates: both secrets while rotating, only the new one after", async () => {
    seeded();
    const request = async (secret: string, env: typeof signed) =>
      (await handleRequest(post("/v1/profiles/crm-sig", body, { headers: await sign(secret, body) }), env)).status;

    expect([await request(SECRET, rotating), await request(NEXT_SECRET, rotating)]).toEqual([202, 202]);
    expect([await request(SECRET, rotated), await request(NEXT_SECRET, rotated)]).toEqual([401, 202]);
  });

  it("accepts any one of several v1 signatures", async () => {
    seeded();
    const good = await sign(SECRET, body);
    const headers = { ...good, "x-relay-signature": `v1=${"0".repeat(64)}, ${good["x-relay-signature"]}` };

    expect((await handleRequest(post("/v1/profiles/crm-sig", body, { headers }), signed)).status).toBe(202);
  });

  it.each([
    ["a timestamp that is no number", { "x-relay-timestamp": "yesterday" }, "x-relay-timestamp must be Unix seconds"],
    [
      "a signature of another scheme",
      { "x-relay-signature": "sha256=abc" },
      "x-relay-signature must be v1=<64 hex digits>",
    ],
  ])("refuses %s", async (_, overrides, message) => {
    seeded();
    const headers = { ...(await sign(SECRET, body)), ...overrides };

    await expectRefused(await handleRequest(post("/v1/profiles/crm-sig", body, { headers }), signed), message);
  });

  it("still needs a key: a signed request without one is unauthorized", async () => {
    seeded();

    const response = await handleRequest(
      post("/v1/profiles/crm-sig", body, { key: null, headers: await sign(SECRET, body) }),
      signed,
    );

    expect(response.status).toBe(401);
    expect((await errorOf(response)).code).toBe("unauthorized");
  });

  it("is off when no secret is configured", async () => {
    seeded();

    const response = await handleRequest(post("/v1/profiles/crm-sig", body), envWith({}));

    expect(response.status).toBe(202);
  });
});
