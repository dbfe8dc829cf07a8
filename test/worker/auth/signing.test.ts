import { describe, expect, it, vi } from "vitest";
import { handleRequest } from "../../../worker/http/handle-request.js";
import { envWith, errorOf, fakeTarget, get, post, WRITE_KEY } from "../helpers.js";

const SECRET = "canary-signing-secret-1f2e3d4c5b6a7988";
const NEXT_SECRET = "canary-signing-secret-next-a1b2c3d4e5f6";
const signed = envWith({ RELAY_SIGNING_SECRETS: JSON.stringify([SECRET]) });
const rotating = envWith({ RELAY_SIGNING_SECRETS: JSON.stringify([SECRET, NEXT_SECRET]) });
const rotated = envWith({ RELAY_SIGNING_SECRETS: JSON.stringify([NEXT_SECRET]) });

const encoder = new TextEncoder();
const now = () => Math.floor(Date.now() / 1000);
const hex = (bytes: ArrayBuffer) => [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");

/**
 * The documented signature, computed here independently: HMAC-SHA256 of
 * `TIMESTAMP\nMETHOD\nPATH?QUERY\nSHA-256(BODY)`, lowercase hex.
 */
async function sign(secret: string, body: string, timestamp = now(), method = "POST", path = "/v1/profiles/crm-sig") {
  const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  const bodyHash = hex(await crypto.subtle.digest("SHA-256", encoder.encode(body)));
  const mac = await crypto.subtle.sign("HMAC", key, encoder.encode(`${timestamp}\n${method}\n${path}\n${bodyHash}`));
  return { "x-relay-timestamp": String(timestamp), "x-relay-signature": `v2=${hex(mac)}` };
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
  it("accepts a request signed over its canonical form", async () => {
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

    const response = await handleRequest(
      get("/v1/profiles/crm-sig", { headers: await sign(SECRET, "", now(), "GET") }),
      signed,
    );

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

  it("accepts any one of several v2 signatures", async () => {
    seeded();
    const good = await sign(SECRET, body);
    const headers = { ...good, "x-relay-signature": `v2=${"0".repeat(64)}, ${good["x-relay-signature"]}` };

    expect((await handleRequest(post("/v1/profiles/crm-sig", body, { headers }), signed)).status).toBe(202);
  });

  it.each([
    ["a timestamp that is no number", { "x-relay-timestamp": "yesterday" }, "x-relay-timestamp must be Unix seconds"],
    [
      "a signature of another scheme",
      { "x-relay-signature": "sha256=abc" },
      "x-relay-signature must be v2=<64 hex digits>",
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

describe("a signature binds the whole request (method, path and query, body)", () => {
  it("does not carry a captured write over to another visitor", async () => {
    const { emulator, sent } = seeded();
    emulator.seedProfile({ thirdPartyId: "victim-77" });
    const headers = await sign(SECRET, body, now(), "POST", "/v1/profiles/crm-sig");

    const original = await handleRequest(post("/v1/profiles/crm-sig", body, { headers }), signed);
    const replayed = await handleRequest(post("/v1/profiles/victim-77", body, { headers }), signed);

    expect(original.status).toBe(202);
    await expectRefused(replayed, "the request signature does not match");
    expect(sent).toHaveLength(1);
    expect(emulator.getProfile({ thirdPartyId: "victim-77" })?.attributes).toEqual({});
  });

  it("does not open other GET routes: a GET's signature covers its path", async () => {
    const { emulator } = seeded();
    emulator.seedProfile({ thirdPartyId: "victim-77" });
    const headers = await sign(SECRET, "", now(), "GET", "/v1/profiles/crm-sig");

    const original = await handleRequest(get("/v1/profiles/crm-sig", { headers }), signed);
    const otherProfile = await handleRequest(get("/v1/profiles/victim-77", { headers }), signed);
    const otherRoute = await handleRequest(get("/v1/batches/acme-1-1", { headers }), signed);

    expect(original.status).toBe(200);
    await expectRefused(otherProfile, "the request signature does not match");
    await expectRefused(otherRoute, "the request signature does not match");
  });

  it("refuses a changed method, or a query added or changed", async () => {
    seeded();
    const path = "/v1/profiles/crm-sig";
    const asGet = await sign(SECRET, "", now(), "GET", path);
    const withQuery = await sign(SECRET, "", now(), "GET", `${path}?fields=tier`);

    await expectRefused(
      await handleRequest(post(path, "", { headers: asGet }), signed),
      "the request signature does not match",
    );
    await expectRefused(
      await handleRequest(get(`${path}?fields=tier`, { headers: asGet }), signed),
      "the request signature does not match",
    );
    await expectRefused(
      await handleRequest(get(`${path}?fields=ltv`, { headers: withQuery }), signed),
      "the request signature does not match",
    );
    expect((await handleRequest(get(`${path}?fields=tier`, { headers: withQuery }), signed)).status).toBe(200);
  });

  it("takes docs/relay.md's worked example, signed with openssl", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(1_732_420_000_000);
    try {
      const { emulator } = seeded();
      emulator.seedProfile({ thirdPartyId: "crm-42" });
      const example = envWith({ RELAY_SIGNING_SECRETS: JSON.stringify(["example-signing-secret-0123456789abcdef"]) });
      const headers = {
        "x-relay-timestamp": "1732420000",
        "x-relay-signature": "v2=2cea81485f8e002ee9c3d2346accc74305be3b7b7dee419dfd76d021b90503d1",
      };

      const response = await handleRequest(
        post("/v1/profiles/crm-42", '{"attributes":{"tier":"gold","ltv":1200}}', { headers }),
        example,
      );

      expect(response.status).toBe(202);
      expect(
        await sign(
          "example-signing-secret-0123456789abcdef",
          '{"attributes":{"tier":"gold","ltv":1200}}',
          1_732_420_000,
          "POST",
          "/v1/profiles/crm-42",
        ),
      ).toEqual(headers);
    } finally {
      vi.useRealTimers();
    }
  });

  it("refuses a v1 signature (TIMESTAMP.BODY), saying to sign with v2", async () => {
    seeded();
    const key = await crypto.subtle.importKey("raw", encoder.encode(SECRET), { name: "HMAC", hash: "SHA-256" }, false, [
      "sign",
    ]);
    const timestamp = now();
    const v1 = hex(await crypto.subtle.sign("HMAC", key, encoder.encode(`${timestamp}.${body}`)));
    const headers = { "x-relay-timestamp": String(timestamp), "x-relay-signature": `v1=${v1}` };

    await expectRefused(
      await handleRequest(post("/v1/profiles/crm-sig", body, { headers }), signed),
      "x-relay-signature: v1 signatures (over TIMESTAMP.BODY) are no longer taken: sign with v2 (docs/relay.md)",
    );
  });
});

describe("the work a signature check may take is bounded", () => {
  /** A POST whose body is never read: pulling it counts, and fails the test. */
  function unreadable(headers: Record<string, string>) {
    let pulled = 0;
    const stream = new ReadableStream<Uint8Array>(
      {
        pull(controller) {
          pulled++;
          controller.enqueue(encoder.encode(body));
          controller.close();
        },
        // Nothing is pulled until the body is read.
      },
      { highWaterMark: 0 },
    );
    const request = new Request("https://relay.example/v1/profiles/crm-sig", {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${WRITE_KEY}`, ...headers },
      body: stream,
    });
    return { request, pulled: () => pulled };
  }

  it.each([
    ["6 signatures", 6, "x-relay-signature must hold at most 5 signatures"],
    ["1,000 signatures", 1000, "x-relay-signature must be at most 512 characters"],
  ])("refuses %s before reading the body or computing any HMAC", async (_, count, message) => {
    const { sent } = seeded();
    const good = await sign(SECRET, body);
    const hmacs = [vi.spyOn(crypto.subtle, "sign"), vi.spyOn(crypto.subtle, "verify")];
    const values = Array.from({ length: count - 1 }, () => `v2=${"0".repeat(64)}`);
    const { request, pulled } = unreadable({
      ...good,
      "x-relay-signature": [...values, good["x-relay-signature"]].join(","),
    });

    await expectRefused(await handleRequest(request, signed), message);
    expect(pulled()).toBe(0);
    expect(hmacs.map((spy) => spy.mock.calls.length)).toEqual([0, 0]);
    expect(sent).toEqual([]);
  });

  it("hashes a large body once, however many signatures and secrets are tried", async () => {
    seeded();
    const large = JSON.stringify({ attributes: { tier: "gold", notes: "n".repeat(60_000) } });
    const headers = {
      ...(await sign(SECRET, large)),
      "x-relay-signature": Array.from({ length: 5 }, () => `v2=${"0".repeat(64)}`).join(","),
    };
    const hashed: { method: string; bytes: number }[] = [];
    for (const method of ["digest", "sign", "verify"] as const) {
      const original = crypto.subtle[method].bind(crypto.subtle) as (...args: unknown[]) => Promise<unknown>;
      vi.spyOn(crypto.subtle, method).mockImplementation(((...args: unknown[]) => {
        hashed.push({ method, bytes: (args.at(-1) as ArrayBufferView).byteLength });
        return original(...args);
      }) as never);
    }

    await expectRefused(
      await handleRequest(post("/v1/profiles/crm-sig", large, { headers }), rotating),
      "the request signature does not match",
    );
    expect(hashed.filter(({ bytes }) => bytes >= large.length)).toEqual([{ method: "digest", bytes: large.length }]);
    // Every signature was tried under every secret: 5 × 2 HMACs of the short canonical text.
    const checks = hashed.filter(({ method }) => method === "verify");
    expect(checks).toHaveLength(10);
    expect(checks.every(({ bytes }) => bytes < 200)).toBe(true);
  });
});
