import { describe, expect, it, vi } from "vitest";
import {
  createRelayClient,
  isTargetProfileError,
  isTargetRelayError,
  isTargetValidationError,
  TargetRelayError,
  type RelayClientOptions,
} from "../../src/index.js";
import { failure } from "./support.js";

const KEY = "canary-relay-key-5e21";
const CANARY_ID = "canary-id-Ünïcode 42@x";

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });

/** A client over a stub relay that records each request (and its body) and answers `answer`. */
function setup(answer: (request: Request) => Response | Promise<Response>, options: Partial<RelayClientOptions> = {}) {
  const requests: { request: Request; body: string }[] = [];
  const fetch = vi.fn(async (request: Request) => {
    requests.push({ request, body: await request.clone().text() });
    return answer(request);
  });
  const relay = createRelayClient({ url: "https://relay.example/", apiKey: KEY, fetch, ...options });
  return { relay, requests, fetch };
}

describe("createRelayClient", () => {
  it("checks its options", () => {
    for (const [options, message] of [
      [{ url: "relay.example", apiKey: KEY }, "url: url must be an absolute URL"],
      [{ url: "ftp://relay.example", apiKey: KEY }, "url: url must use http or https"],
      [{ url: "https://relay.example", apiKey: "" }, "apiKey: apiKey must not be empty"],
      [{ url: "https://relay.example", apiKey: KEY, retries: 3 }, "retries: unknown option"],
    ] as const) {
      const error = (() => {
        try {
          createRelayClient(options as never);
        } catch (caught) {
          return caught;
        }
      })();
      expect(isTargetValidationError(error) && error.message).toBe(message);
    }
  });

  it("posts a single update to /v1/profiles/{id}, the id percent-encoded, with the key as Bearer", async () => {
    const { relay, requests } = setup(() => json(202, { requestId: "r-1" }));

    const result = await relay.updateProfile({
      mbox3rdPartyId: CANARY_ID,
      attributes: { tier: "gold", ltv: 1200, city: null },
    });

    expect(result).toEqual({ requestId: "r-1" });
    const [{ request, body }] = requests as [{ request: Request; body: string }];
    expect(request.method).toBe("POST");
    expect(request.url).toBe(`https://relay.example/v1/profiles/${encodeURIComponent(CANARY_ID)}`);
    expect(request.headers.get("authorization")).toBe(`Bearer ${KEY}`);
    expect(request.headers.get("content-type")).toBe("application/json");
    expect(request.headers.get("x-relay-signature")).toBeNull();
    expect(JSON.parse(body)).toEqual({ attributes: { tier: "gold", ltv: 1200, city: null } });
  });

  it("passes on which path took a single update, as the relay says it (an older relay says nothing)", async () => {
    for (const via of ["single-update", "realtime", "queued"] as const) {
      const { relay } = setup(() => json(202, { requestId: "r-1", via, ...(via === "queued" ? { queued: 1 } : {}) }));
      expect((await relay.updateProfile({ mbox3rdPartyId: "crm-1", attributes: { tier: "gold" } })).via).toBe(via);
    }
    const unknown = setup(() => json(202, { requestId: "r-1", via: "carrier-pigeon" }));
    const error = await failure(unknown.relay.updateProfile({ mbox3rdPartyId: "crm-1", attributes: { tier: "gold" } }));
    expect(isTargetRelayError(error) && error.code).toBe("invalid_response");
  });

  it("posts many updates to /v1/profiles as { updates }", async () => {
    const { relay, requests } = setup(() => json(202, { requestId: "r-2", batchId: "acme-1-2", rows: 2 }));
    const updates = [
      { mbox3rdPartyId: "crm-1", attributes: { tier: "gold" } },
      { mbox3rdPartyId: "crm-2", attributes: { tier: "silver" } },
    ];

    expect(await relay.updateProfiles(updates)).toEqual({ requestId: "r-2", batchId: "acme-1-2", rows: 2 });
    expect(requests[0]?.request.url).toBe("https://relay.example/v1/profiles");
    expect(JSON.parse(requests[0]?.body as string)).toEqual({ updates });
  });

  it("reads profiles and batches with GET; a profile the relay does not find is undefined", async () => {
    const { relay, requests } = setup((request) =>
      request.url.includes("/v1/batches/")
        ? json(200, { batchId: "acme-1-2", status: "incomplete", failedIds: [] })
        : json(404, { error: { code: "not_found", message: "Target has no profile with this mbox3rdPartyId" } }),
    );

    expect(await relay.getProfile("crm-1")).toBeUndefined();
    expect(await relay.getBatch("acme-1-2")).toEqual({ batchId: "acme-1-2", status: "incomplete", failedIds: [] });
    expect(requests.map(({ request }) => `${request.method} ${new URL(request.url).pathname}`)).toEqual([
      "GET /v1/profiles/crm-1",
      "GET /v1/batches/acme-1-2",
    ]);
    expect(requests.map(({ body }) => body)).toEqual(["", ""]);
  });

  it("checks updates with the core's rules before sending anything", async () => {
    const { relay, fetch } = setup(() => json(202, { requestId: "r" }));

    const errors = await Promise.all([
      failure(relay.updateProfile({ mbox3rdPartyId: "crm-1", attributes: { tier: "" } })),
      failure(relay.updateProfile({ mbox3rdPartyId: "..", attributes: { tier: "gold" } })),
      failure(relay.updateProfiles([])),
      failure(relay.updateProfiles([{ mbox3rdPartyId: "crm-1", attributes: { "profile.tier": "gold" } }])),
      failure(relay.getProfile("a+b")),
    ]);

    expect(errors.map((error) => isTargetValidationError(error) && error.issues[0]?.path)).toEqual([
      "attributes.tier",
      "mbox3rdPartyId",
      "updates",
      'updates[0].attributes["profile.tier"]',
      "mbox3rdPartyId",
    ]);
    expect(fetch).not.toHaveBeenCalled();
  });

  it("signs the documented canonical form, TIMESTAMP\\nMETHOD\\nPATH?QUERY\\nSHA-256(BODY), with HMAC-SHA256", async () => {
    const secret = "shared-signing-secret";
    const { relay, requests } = setup(() => json(202, { requestId: "r" }), { signingSecret: secret });

    await relay.updateProfile({ mbox3rdPartyId: CANARY_ID, attributes: { tier: "gold" } });

    const [{ request, body }] = requests as [{ request: Request; body: string }];
    const timestamp = request.headers.get("x-relay-timestamp") as string;
    expect(Math.abs(Number(timestamp) - Date.now() / 1000)).toBeLessThan(5);
    const encoder = new TextEncoder();
    const hex = (bytes: ArrayBuffer) => [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");
    const bodyHash = hex(await crypto.subtle.digest("SHA-256", encoder.encode(body)));
    const path = `/v1/profiles/${encodeURIComponent(CANARY_ID)}`;
    const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
      "sign",
    ]);
    const mac = await crypto.subtle.sign("HMAC", key, encoder.encode(`${timestamp}\nPOST\n${path}\n${bodyHash}`));
    expect(request.headers.get("x-relay-signature")).toBe(`v2=${hex(mac)}`);
  });

  it("signs docs/relay.md's worked examples to the signatures openssl gives", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(1_732_420_000_000);
    try {
      const signingSecret = "example-signing-secret-0123456789abcdef";
      const { relay, requests } = setup(
        (request) =>
          request.method === "GET"
            ? json(404, { error: { code: "not_found", message: "no" } })
            : json(202, { requestId: "r" }),
        { signingSecret },
      );

      await relay.updateProfile({ mbox3rdPartyId: "crm-42", attributes: { tier: "gold", ltv: 1200 } });
      await relay.getProfile("crm-42");

      expect(requests.map(({ request }) => Object.fromEntries(request.headers))).toEqual([
        expect.objectContaining({
          "x-relay-timestamp": "1732420000",
          "x-relay-signature": "v2=2cea81485f8e002ee9c3d2346accc74305be3b7b7dee419dfd76d021b90503d1",
        }),
        expect.objectContaining({
          "x-relay-timestamp": "1732420000",
          "x-relay-signature": "v2=a4ee2cc0a249c5138bc67daa8574e6e60a62445da10618a58a46add1e08a4395",
        }),
      ]);
      expect(requests[0]?.body).toBe('{"attributes":{"tier":"gold","ltv":1200}}');
    } finally {
      vi.useRealTimers();
    }
  });

  it("turns the relay's JSON errors into TargetRelayError, carrying status, code, field and Retry-After", async () => {
    const { relay } = setup(() =>
      json(
        429,
        { error: { code: "rate_limited", message: "too many requests for this key" } },
        { "retry-after": "60" },
      ),
    );
    const invalid = setup(() =>
      json(400, {
        error: { code: "invalid_input", message: "attributes.tier: must be a string", field: "attributes.tier" },
      }),
    );

    const limited = await failure(relay.updateProfile({ mbox3rdPartyId: "crm-1", attributes: { tier: "gold" } }));
    const refused = await failure(
      invalid.relay.updateProfile({ mbox3rdPartyId: "crm-1", attributes: { tier: "gold" } }),
    );

    expect(limited).toBeInstanceOf(TargetRelayError);
    expect(isTargetProfileError(limited) && isTargetRelayError(limited)).toBe(true);
    expect(limited).toMatchObject({
      name: "TargetRelayError",
      status: 429,
      code: "rate_limited",
      retryAfter: 60,
      field: undefined,
    });
    expect(refused).toMatchObject({
      status: 400,
      code: "invalid_input",
      field: "attributes.tier",
      message: "attributes.tier: must be a string",
    });
  });

  it("reports an answer that is not the relay's (a proxy's HTML page) by its status", async () => {
    const { relay } = setup(() => new Response("<html>Bad gateway</html>", { status: 502 }));

    const error = await failure(relay.getBatch("acme-1-2"));

    expect(error).toMatchObject({ status: 502, code: "http_error", message: "the relay answered HTTP 502" });
  });

  it("reports a success answer of the wrong shape", async () => {
    const { relay } = setup(() => json(202, { ok: true }));

    expect(await failure(relay.updateProfile({ mbox3rdPartyId: "crm-1", attributes: { tier: "gold" } }))).toMatchObject(
      {
        status: 202,
        code: "invalid_response",
      },
    );
  });

  it("reports a relay it cannot reach with status 0, without the URL (it holds the id) or the key", async () => {
    const { relay } = setup(() => {
      throw new TypeError(`fetch failed: https://relay.example/v1/profiles/${CANARY_ID}`);
    });

    const error = await failure(relay.updateProfile({ mbox3rdPartyId: CANARY_ID, attributes: { tier: "gold" } }));

    expect(error).toMatchObject({ status: 0, code: "network_error", message: "the relay could not be reached" });
    const exposed = JSON.stringify({ ...error, message: error.message, cause: String(error.cause) });
    expect(exposed).not.toContain("canary");
    expect(exposed).not.toContain(encodeURIComponent(CANARY_ID));
  });

  it("gives up after its timeout", async () => {
    const { relay } = setup(
      (request) =>
        new Promise<Response>((_, reject) =>
          request.signal.addEventListener("abort", () => reject(request.signal.reason)),
        ),
      { timeout: 20 },
    );

    const error = await failure(relay.getBatch("acme-1-2"));

    expect(error).toMatchObject({ status: 0, code: "timeout", message: "the relay did not answer within 20 ms" });
  });
});
