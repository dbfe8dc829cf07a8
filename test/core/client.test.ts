import fc from "fast-check";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createTargetEmulator } from "../../src/emulator/index.js";
import {
  createTargetClient,
  isTargetHttpError,
  isTargetNetworkError,
  isTargetProfileError,
  isTargetQuotaError,
  isTargetRejectedError,
  isTargetTimeoutError,
  isTargetValidationError,
  parseProfile,
  type ProfileUpdate,
  type TargetClientOptions,
} from "../../src/index.js";
import { failure } from "./support.js";

// Personal data and secrets that must never appear in an error.
const CANARY_ID = "canary-id-4b1d";
const CANARY_VALUE = "canary-value-9e2c";
const CANARY_TOKEN = "canary-token-77aa";

// Fast retries: the backoff itself is ky's business, the policy is ours.
const fastRetry = { limit: 2, baseDelay: 1, maxDelay: 5 };

function setup(
  options: Partial<TargetClientOptions> = {},
  emulatorOptions: Parameters<typeof createTargetEmulator>[0] = {},
) {
  const emulator = createTargetEmulator({ clientCode: "acme", ...emulatorOptions });
  const fetch = vi.fn(emulator.fetch);
  const target = createTargetClient({ clientCode: "acme", fetch, retry: fastRetry, ...options });
  return { emulator, fetch, target };
}

/** Everything an error exposes, to check no personal data or secret leaks through it. */
function exposed(error: Error): string {
  // The stack is left out: in a browser it holds the test module's own URL.
  const keys = Object.getOwnPropertyNames(error).filter((key) => key !== "stack");
  const own = Object.fromEntries(keys.map((key) => [key, (error as never)[key]]));
  return JSON.stringify({ ...own, message: error.message, cause: String(error.cause) });
}

afterEach(() => {
  vi.useRealTimers();
});

describe("updateProfile", () => {
  it("sends an update Target stores, and reads it back", async () => {
    const { emulator, target } = setup();
    emulator.seedProfile({ thirdPartyId: "crm-42" });

    const result = await target.updateProfile({ mbox3rdPartyId: "crm-42", attributes: { tier: "gold", ltv: 1200 } });

    expect(result).toEqual({ method: "GET", message: "Request successfully submitted" });
    expect(emulator.getProfile({ thirdPartyId: "crm-42" })?.attributes).toEqual({ tier: "gold", ltv: "1200" });
    const profile = await target.getProfile({ thirdPartyId: "crm-42" });
    expect(profile?.client).toBe("acme");
    expect(profile?.profileAttributes["tier"]?.value).toBe("gold");
    expect(profile?.profileAttributes["ltv"]?.value).toBe("1200");
  });

  it("updates by mboxPC", async () => {
    const { emulator, target } = setup();
    emulator.seedProfile({ tntId: "1368007744041-575948.01_00" });
    await target.updateProfile({ mboxPC: "1368007744041-575948.01_00", attributes: { loan: "approved" } });
    expect(emulator.getProfile({ tntId: "1368007744041-575948.01_00" })?.attributes).toEqual({ loan: "approved" });
  });

  it("resolves once Target accepted the update, before it is visible", async () => {
    let clock = Date.UTC(2024, 0, 1);
    const { emulator, target } = setup({}, { now: () => clock, visibilityDelay: { singleUpdate: 60_000 } });
    emulator.seedProfile({ thirdPartyId: "crm-42", attributes: { tier: "silver" } });
    await target.updateProfile({ mbox3rdPartyId: "crm-42", attributes: { tier: "gold" } });
    expect((await target.getProfile({ thirdPartyId: "crm-42" }))?.profileAttributes["tier"]?.value).toBe("silver");
    clock += 60_000;
    expect((await target.getProfile({ thirdPartyId: "crm-42" }))?.profileAttributes["tier"]?.value).toBe("gold");
  });

  it("does not create unknown profiles (update only), yet resolves", async () => {
    const { emulator, target } = setup();
    await expect(target.updateProfile({ mbox3rdPartyId: "new", attributes: { a: 1 } })).resolves.toMatchObject({
      method: "GET",
    });
    expect(emulator.getProfile({ thirdPartyId: "new" })).toBeUndefined();
    await expect(target.getProfile({ thirdPartyId: "new" })).resolves.toBeUndefined();
  });

  it("stores any allowed attribute map exactly as given, over GET and POST (property)", async () => {
    const { emulator, target } = setup();
    emulator.seedProfile({ thirdPartyId: "p" });
    const tricky = fc.constantFrom(
      "&",
      "=",
      "+",
      "%",
      "#",
      "?",
      "/",
      ",",
      ";",
      '"',
      "'",
      "\n",
      "\r\n",
      " ",
      "%20",
      "é",
      "日本",
      "😀",
      "👩‍👩‍👧",
    );
    const text = fc
      .array(fc.oneof(fc.string({ unit: "grapheme", minLength: 1, maxLength: 6 }), tricky), {
        minLength: 1,
        maxLength: 6,
      })
      .map((parts) => parts.join(""));
    const name = text
      .map((candidate) => candidate.replace(/[\u0000-\u001f\u007f-\u009f]/g, "_"))
      .filter((candidate) => candidate.length <= 128 && !candidate.startsWith("profile."));
    const value = fc.oneof(
      text,
      fc.integer(),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.boolean(),
      fc.string({ minLength: 2500, maxLength: 2500 }),
    );
    const id = text
      .map((candidate) => candidate.replace(/[+/]/g, "-"))
      .filter((candidate) => candidate.length <= 256 && candidate !== "." && candidate !== "..");

    await fc.assert(
      fc.asyncProperty(id, fc.dictionary(name, value, { minKeys: 1, maxKeys: 6 }), async (visitor, attributes) => {
        emulator.seedProfile({ thirdPartyId: visitor });
        const result = await target.updateProfile({ mbox3rdPartyId: visitor, attributes });
        const stored = emulator.getProfile({ thirdPartyId: visitor })?.attributes ?? {};
        for (const [attribute, given] of Object.entries(attributes)) expect(stored[attribute]).toBe(String(given));
        expect(["GET", "POST"]).toContain(result.method);
        const fetched = await target.getProfile({ thirdPartyId: visitor });
        expect(fetched?.visitorId).toBe(visitor);
      }),
      { numRuns: 60 },
    );
  });

  it("goes out as POST above 8 KB and is refused above 60 KB without any fetch", async () => {
    const { emulator, fetch, target } = setup();
    emulator.seedProfile({ thirdPartyId: "big" });

    const post = await target.updateProfile({ mbox3rdPartyId: "big", attributes: { blob: "x".repeat(20_000) } });
    expect(post.method).toBe("POST");
    expect(emulator.getProfile({ thirdPartyId: "big" })?.attributes["blob"]).toHaveLength(20_000);
    expect(fetch).toHaveBeenCalledTimes(1);

    fetch.mockClear();
    const error = await failure(
      target.updateProfile({ mbox3rdPartyId: "big", attributes: { blob: "x".repeat(61_440) } }),
    );
    expect(isTargetValidationError(error)).toBe(true);
    expect(fetch).not.toHaveBeenCalled();
  });

  it("forces the method on request", async () => {
    const { emulator, target } = setup();
    emulator.seedProfile({ thirdPartyId: "crm-1" });
    const result = await target.updateProfile({ mbox3rdPartyId: "crm-1", attributes: { a: "b" } }, { method: "POST" });
    expect(result.method).toBe("POST");
    expect(emulator.calls.at(-1)?.method).toBe("POST");
  });

  it("refuses invalid input before any fetch", async () => {
    const { fetch, target } = setup();
    const error = await failure(target.updateProfile({ mbox3rdPartyId: CANARY_ID, attributes: { tier: "" } }));
    expect(isTargetValidationError(error) && error.issues[0]?.path).toBe("attributes.tier");
    expect(exposed(error)).not.toContain(CANARY_ID);
    expect(fetch).not.toHaveBeenCalled();
  });

  it("accepts the tag-stripped answer of the current docs", async () => {
    const fetch = vi.fn(async () => new Response("trueRequest successfully submitted"));
    const target = createTargetClient({ clientCode: "acme", fetch });
    await expect(target.updateProfile({ mbox3rdPartyId: "a", attributes: { x: 1 } })).resolves.toEqual({
      method: "GET",
      message: "Request successfully submitted",
    });
  });

  it("turns success=false into a typed rejection with Target's message", async () => {
    const fetch = vi.fn(
      async () => new Response("<response><success>false</success><message>Invalid request</message></response>"),
    );
    const target = createTargetClient({ clientCode: "acme", fetch });
    const error = await failure(target.updateProfile({ mbox3rdPartyId: "a", attributes: { x: 1 } }));
    expect(isTargetRejectedError(error) && error.targetMessage).toBe("Invalid request");
  });
});

describe("transport edge cases", () => {
  const update: ProfileUpdate = { mbox3rdPartyId: CANARY_ID, attributes: { secret: CANARY_VALUE } };
  const ok = "<response><success>true</success><message>Request successfully submitted</message></response>";

  it("a fetch that never reads a POST body does not hang the call", async () => {
    const fetch = vi.fn(async () => new Response(ok));
    const target = createTargetClient({ clientCode: "acme", fetch, timeout: 200 });
    await expect(target.updateProfile(update, { method: "POST" })).resolves.toMatchObject({ method: "POST" });
  });

  it("a body that breaks off is a network error without the transport's cause", async () => {
    const broken = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode("<response>"));
        controller.error(new TypeError(`terminated https://acme.tt.omtrdc.net/?mbox3rdPartyId=${CANARY_ID}`));
      },
    });
    const target = createTargetClient({ clientCode: "acme", fetch: async () => new Response(broken), retry: 0 });
    const error = await failure(target.updateProfile(update));
    expect(isTargetNetworkError(error)).toBe(true);
    expect(error.cause).toBeUndefined();
    expect(exposed(error)).not.toContain(CANARY_ID);
  });

  it("Target's own refusal text stays out of the error message", async () => {
    const fetch = vi.fn(
      async () => new Response(`<response><success>false</success><message>bad id ${CANARY_ID}</message></response>`),
    );
    const target = createTargetClient({ clientCode: "acme", fetch });
    const error = await failure(target.updateProfile(update));
    expect(isTargetRejectedError(error) && error.targetMessage).toBe(`bad id ${CANARY_ID}`);
    expect(error.message).not.toContain(CANARY_ID);
  });

  it("timeouts are final: one attempt only", async () => {
    const { emulator, fetch, target } = setup({ timeout: 30 });
    emulator.injectFaults({ times: 3, delayMs: 500 });
    expect(isTargetTimeoutError(await failure(target.updateProfile(update)))).toBe(true);
    expect(fetch).toHaveBeenCalledTimes(1);
  });
});

describe("authentication", () => {
  it("sends Authorization: Bearer TOKEN on every call", async () => {
    const { emulator, fetch, target } = setup({ token: "secret-token" }, { token: "secret-token" });
    emulator.seedProfile({ thirdPartyId: "crm-1" });
    await target.updateProfile({ mbox3rdPartyId: "crm-1", attributes: { a: "b" } });
    await target.getProfile({ thirdPartyId: "crm-1" });
    for (const [request] of fetch.mock.calls)
      expect((request as Request).headers.get("authorization")).toBe("Bearer secret-token");
  });

  it("a wrong token is a 401 HTTP error, not retried, with no token in it", async () => {
    const { fetch, target } = setup({ token: CANARY_TOKEN }, { token: "the-right-one" });
    const error = await failure(target.updateProfile({ mbox3rdPartyId: CANARY_ID, attributes: { a: CANARY_VALUE } }));
    expect(isTargetHttpError(error) && error.status).toBe(401);
    expect(fetch).toHaveBeenCalledTimes(1);
    for (const canary of [CANARY_ID, CANARY_VALUE, CANARY_TOKEN, "?"]) expect(exposed(error)).not.toContain(canary);
  });
});

describe("getProfile", () => {
  it("fetches by tntId and marketingCloudVisitorId through the documented paths", async () => {
    const { emulator, fetch, target } = setup();
    emulator.seedProfile({ tntId: "tnt.1", marketingCloudVisitorId: "ecid 1", attributes: { a: "1" } });
    expect((await target.getProfile({ tntId: "tnt.1" }))?.profileAttributes["a"]?.value).toBe("1");
    expect((await target.getProfile({ marketingCloudVisitorId: "ecid 1" }))?.profileAttributes["a"]?.value).toBe("1");
    const urls = fetch.mock.calls.map(([request]) => (request as Request).url);
    expect(urls).toEqual([
      "https://acme.tt.omtrdc.net/rest/v1/profiles/tnt.1?client=acme",
      "https://acme.tt.omtrdc.net/rest/v1/profiles/marketingCloudVisitorId/ecid%201?client=acme",
    ]);
  });

  it("encodes the id as one path segment", async () => {
    const { emulator, fetch, target } = setup();
    emulator.seedProfile({ thirdPartyId: "a?b#c%d&e" });
    expect(await target.getProfile({ thirdPartyId: "a?b#c%d&e" })).toBeDefined();
    expect((fetch.mock.calls[0]?.[0] as Request).url).toBe(
      "https://acme.tt.omtrdc.net/rest/v1/profiles/thirdPartyId/a%3Fb%23c%25d%26e?client=acme",
    );
  });

  it("checks the lookup", async () => {
    const { target } = setup();
    await expect(target.getProfile({ thirdPartyId: "a", tntId: "b" } as never)).rejects.toThrow(/exactly one of/);
    await expect(target.getProfile({ thirdPartyId: ".." })).rejects.toThrow(/must not be "\." or "\.\."/);
    await expect(target.getProfile({ thirdPartyId: "a/b" })).rejects.toThrow(/must not contain/);
  });

  it("a 404 that is not Target's own answer is an error, not a missing profile", async () => {
    const fetch = vi.fn(async () => new Response("<html>Not Found</html>", { status: 404 }));
    const target = createTargetClient({ clientCode: "acme", fetch });
    const error = await failure(target.getProfile({ thirdPartyId: "a" }));
    expect(isTargetHttpError(error) && error.status).toBe(404);
  });

  it("checks its options", async () => {
    const { target } = setup();
    await expect(target.getProfile({ thirdPartyId: "a" }, { signal: "soon" as never })).rejects.toThrow(
      /signal must be an AbortSignal/,
    );
  });

  it("an unknown tnt id is undefined (Target's 404 says `with mboxPC=`)", async () => {
    const { emulator, target } = setup();
    expect(await target.getProfile({ tntId: "1368007744041-575948.01_00" })).toBeUndefined();
    expect(emulator.calls.map((call) => [call.operation, call.status])).toEqual([["fetch", 404]]);
  });

  it("reads the older answer: mboxPC and thirdPartyId instead of visitorId, perhaps clientCode", () => {
    const byThirdPartyId = parseProfile(
      JSON.stringify({
        mboxPC: "1383918368404-663054.17_05",
        client: "demo8",
        thirdPartyId: "55557896156",
        modifiedAt: "2013-12-01T16:35:45",
        profileAttributes: { age: { value: "39", modifiedAt: "2013-12-01T16:35:45" } },
      }),
    );
    expect(byThirdPartyId).toEqual({
      client: "demo8",
      visitorId: "55557896156",
      thirdPartyId: "55557896156",
      mboxPC: "1383918368404-663054.17_05",
      modifiedAt: "2013-12-01T16:35:45",
      profileAttributes: { age: { value: "39", modifiedAt: "2013-12-01T16:35:45" } },
    });
    const byPcId = parseProfile(JSON.stringify({ mboxPC: "pc-1", clientCode: "demo8", profileAttributes: {} }));
    expect(byPcId).toMatchObject({ client: "demo8", clientCode: "demo8", visitorId: "pc-1", mboxPC: "pc-1" });
    // Today's answer is read as before.
    expect(parseProfile(JSON.stringify({ client: "acme", visitorId: "crm-1" }))).toEqual({
      client: "acme",
      visitorId: "crm-1",
      profileAttributes: {},
    });
    expect(() => parseProfile(JSON.stringify({ visitorId: "crm-1" }))).toThrow(/\(client\)/);
  });

  it("validates the answer's shape", async () => {
    const fetch = vi.fn(async () =>
      Response.json({ client: "acme", profileAttributes: { tier: { value: CANARY_VALUE } } }),
    );
    const target = createTargetClient({ clientCode: "acme", fetch });
    const error = await failure(target.getProfile({ thirdPartyId: "a" }));
    expect(error.message).toContain("visitorId");
    expect(exposed(error)).not.toContain(CANARY_VALUE);
  });
});

describe("retries and faults", () => {
  const update: ProfileUpdate = { mbox3rdPartyId: CANARY_ID, attributes: { secret: CANARY_VALUE } };

  it("503, 503, 200 → one success after three calls", async () => {
    const { emulator, fetch, target } = setup();
    emulator.injectFaults({ times: 2, status: 503 });
    await expect(target.updateProfile(update)).resolves.toMatchObject({ method: "GET" });
    expect(fetch).toHaveBeenCalledTimes(3);
  });

  it("gives up after the retry limit with an HTTP error naming the status, not the URL", async () => {
    const { emulator, fetch, target } = setup();
    emulator.injectFaults({ times: 5, status: 500 });
    const error = await failure(target.updateProfile(update));
    expect(isTargetHttpError(error) && error.status).toBe(500);
    expect(isTargetHttpError(error) && [error.operation, error.method]).toEqual(["updateProfile", "GET"]);
    expect(fetch).toHaveBeenCalledTimes(3);
    for (const canary of [CANARY_ID, CANARY_VALUE, "omtrdc"]) expect(exposed(error)).not.toContain(canary);
  });

  it("400 → one call and a typed error", async () => {
    const { emulator, fetch, target } = setup();
    emulator.injectFaults({ status: 400 });
    const error = await failure(target.updateProfile(update));
    expect(isTargetHttpError(error) && error.status).toBe(400);
    expect(isTargetProfileError(error)).toBe(true);
    expect(fetch).toHaveBeenCalledTimes(1);
  });

  it("429 is retried, honouring Retry-After", async () => {
    const { emulator, fetch, target } = setup();
    emulator.injectFaults({ status: 429, headers: { "retry-after": "1" } });
    const started = Date.now();
    await target.updateProfile(update);
    expect(fetch).toHaveBeenCalledTimes(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
  });

  it("a 429 asking to wait longer than maxRetryAfter (the daily quota) is a TargetQuotaError at once", async () => {
    const { emulator, fetch, target } = setup({}, { singleUpdatesPerDay: 1, fetchesPerDay: 1 });
    emulator.seedProfile({ thirdPartyId: CANARY_ID });
    const update = { mbox3rdPartyId: CANARY_ID, attributes: { tier: CANARY_VALUE } };
    await target.updateProfile(update);
    const error = await failure(target.updateProfile(update));
    expect(isTargetQuotaError(error)).toBe(true);
    expect(isTargetQuotaError(error) && [error.status, error.retryAfter, error.operation, error.method]).toEqual([
      429,
      86_400,
      "updateProfile",
      "GET",
    ]);
    expect(isTargetHttpError(error) || isTargetRejectedError(error)).toBe(false);
    expect(isTargetProfileError(error)).toBe(true);
    // Not retried: the second update went out once.
    expect(fetch).toHaveBeenCalledTimes(2);
    for (const canary of [CANARY_ID, CANARY_VALUE, "?"]) expect(exposed(error)).not.toContain(canary);

    await target.getProfile({ thirdPartyId: CANARY_ID });
    const fetchError = await failure(target.getProfile({ thirdPartyId: CANARY_ID }));
    expect(isTargetQuotaError(fetchError) && [fetchError.operation, fetchError.retryAfter]).toEqual([
      "getProfile",
      86_400,
    ]);
    expect(fetch).toHaveBeenCalledTimes(4);
  });

  it("a 429 whose Retry-After is within maxRetryAfter is waited for and retried, as before", async () => {
    const { emulator, fetch, target } = setup({ retry: { ...fastRetry, maxRetryAfter: 2_000 } });
    emulator.seedProfile({ thirdPartyId: "crm-1" });
    const soon = new Date(Date.now() + 60_000).toUTCString();
    emulator.injectFaults({ status: 429, headers: { "retry-after": soon } });
    expect(
      isTargetQuotaError(await failure(target.updateProfile({ mbox3rdPartyId: "crm-1", attributes: { a: 1 } }))),
    ).toBe(true);
    emulator.injectFaults({ status: 429, headers: { "retry-after": "0" } });
    await target.updateProfile({ mbox3rdPartyId: "crm-1", attributes: { a: 1 } });
    expect(fetch).toHaveBeenCalledTimes(3);
  });

  it("a dropped connection is retried, then reported as a network error", async () => {
    const { emulator, fetch, target } = setup();
    emulator.injectFaults({ times: 1, disconnect: true });
    await expect(target.updateProfile(update)).resolves.toBeDefined();
    expect(fetch).toHaveBeenCalledTimes(2);

    emulator.injectFaults({ times: 3, disconnect: true });
    const error = await failure(target.updateProfile(update));
    expect(isTargetNetworkError(error)).toBe(true);
    expect(exposed(error)).not.toContain(CANARY_ID);
  });

  it("a slow answer is a timeout error", async () => {
    const { emulator, target } = setup({ timeout: 50 });
    emulator.injectFaults({ delayMs: 1_000 });
    const error = await failure(target.updateProfile(update));
    expect(isTargetTimeoutError(error) && error.timeout).toBe(50);
  });

  it("an aborted signal stops retries", async () => {
    const { emulator, fetch, target } = setup({ retry: { limit: 5, baseDelay: 200, maxDelay: 200 } });
    emulator.injectFaults({ times: 10, status: 503 });
    const controller = new AbortController();
    const pending = failure(target.updateProfile(update, { signal: controller.signal }));
    await vi.waitFor(() => expect(fetch).toHaveBeenCalledTimes(1));
    controller.abort(new Error("caller gave up"));
    expect((await pending).message).toBe("caller gave up");
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(fetch).toHaveBeenCalledTimes(1);
  });

  it("an already aborted signal sends nothing", async () => {
    const { fetch, target } = setup();
    await expect(target.updateProfile(update, { signal: AbortSignal.abort() })).rejects.toThrow();
    expect(fetch).not.toHaveBeenCalled();
  });
});
