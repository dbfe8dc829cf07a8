import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { handleRequest } from "../../../worker/http/handle-request.js";
import { capturedLogs, errorOf, fakeTarget, get, post, requestLines, send, TARGET_TOKEN } from "../helpers.js";

const CANARY_ID = "canary-id-3a8e";
const CANARY_VALUE = "canary-value-c41b";
const update = { attributes: { tier: CANARY_VALUE } };

describe("upstream faults", () => {
  it("answers 502 once Target's 503s outlast the retries (1 attempt + TARGET_RETRY's 2)", async () => {
    const { emulator } = fakeTarget();
    emulator.seedProfile({ thirdPartyId: CANARY_ID });
    emulator.injectFaults({ status: 503, times: 3 });

    const lines = await capturedLogs(async () => {
      const response = await send(post(`/v1/profiles/${CANARY_ID}`, update));
      expect(response.status).toBe(502);
      expect(await errorOf(response)).toEqual({
        code: "upstream_failed",
        message: "Adobe Target failed to take the request, after retries",
      });
    });

    expect(emulator.calls.map(({ status }) => status)).toEqual([503, 503, 503]);
    expect(emulator.getProfile({ thirdPartyId: CANARY_ID })?.attributes).toEqual({});
    expect(requestLines(lines)[0]).toMatchObject({
      status: 502,
      error: "upstream_failed",
      upstream: "TargetHttpError 503",
    });
  });

  it("rides out a brief outage with the core's retries", async () => {
    const { emulator } = fakeTarget();
    emulator.seedProfile({ thirdPartyId: "crm-u1" });
    emulator.injectFaults({ status: 503, times: 2 });

    const response = await send(post("/v1/profiles/crm-u1", { attributes: { tier: "gold" } }));

    expect(response.status).toBe(202);
    expect(emulator.calls.map(({ status }) => status)).toEqual([503, 503, 200]);
  });

  it.each([
    ["a single update", `/v1/profiles/${CANARY_ID}`, update, "update"],
    ["a batch", "/v1/profiles", { updates: [{ mbox3rdPartyId: CANARY_ID, ...update }] }, "batchUpdate"],
  ] as const)(
    "answers 502 when Target refuses %s (success=false), with nothing of its answer",
    async (_, path, body, operation) => {
      const { emulator } = fakeTarget();
      const refusal = `<response><success>false</success><message>Invalid profile ${CANARY_ID}: ${CANARY_VALUE}</message></response>`;
      emulator.injectFaults({ status: 200, body: refusal, operations: [operation] });

      let text = "";
      const lines = await capturedLogs(async () => {
        const response = await send(post(path, body));
        expect(response.status).toBe(502);
        text = await response.text();
      });

      expect(JSON.parse(text)).toEqual({
        error: { code: "upstream_failed", message: "Adobe Target failed to take the request, after retries" },
      });
      for (const secret of [CANARY_ID, CANARY_VALUE, "Invalid profile"]) {
        expect(text).not.toContain(secret);
        expect(lines.join("\n")).not.toContain(secret);
      }
      expect(requestLines(lines)[0]).toMatchObject({ upstream: "TargetRejectedError" });
    },
  );

  it("answers 502 when Target cannot be reached", async () => {
    const { emulator } = fakeTarget();
    emulator.injectFaults({ disconnect: true, times: 3 });

    const response = await send(post("/v1/profiles/crm-1", { attributes: { tier: "gold" } }));

    expect(response.status).toBe(502);
    expect(emulator.calls).toHaveLength(3);
  });

  it("answers 502, and logs why, when Target refuses the relay's token", async () => {
    fakeTarget({ token: "a-regenerated-token" });

    const lines = await capturedLogs(async () => {
      expect((await send(post("/v1/profiles/crm-1", { attributes: { tier: "gold" } }))).status).toBe(502);
    });

    expect(requestLines(lines)[0]).toMatchObject({ error: "upstream_failed", upstream: "TargetHttpError 401" });
  });
});

describe("the fixed upstream: nothing a caller sends changes the host, path or headers", () => {
  // Ids that would redirect a naively built URL; each reaches Target as data, under the same path.
  const CRAFTED_IDS = [
    "@evil.example",
    "evil.example:443",
    "crm-1?client=evil&profile.admin=true",
    "crm-1#fragment",
    "\\\\evil.example\\share",
    "..%2F..%2Fm2",
    "%2e%2e",
    " crm-1\t",
  ];

  it.each(CRAFTED_IDS)("sends %j as an id, to https://acme.tt.omtrdc.net only", async (id) => {
    const { emulator, sent } = fakeTarget();
    emulator.seedProfile({ thirdPartyId: id });

    const written = await send(post(`/v1/profiles/${encodeURIComponent(id)}`, { attributes: { tier: "gold" } }));
    const read = await send(get(`/v1/profiles/${encodeURIComponent(id)}`));

    expect(written.status).toBe(202);
    expect(await read.json()).toMatchObject({ mbox3rdPartyId: id, attributes: { tier: "gold" } });
    expect(emulator.getProfile({ thirdPartyId: id })?.attributes).toEqual({ tier: "gold" });
    expect(sent).toHaveLength(2);
    expect(sent[0]?.url).toMatch(
      /^https:\/\/acme\.tt\.omtrdc\.net\/m2\/acme\/profile\/update\?mbox3rdPartyId=[^&]*&profile\.tier=gold$/,
    );
    expect(sent[1]?.url).toMatch(
      /^https:\/\/acme\.tt\.omtrdc\.net\/rest\/v1\/profiles\/thirdPartyId\/[^/?#]+\?client=acme$/,
    );
  });

  it.each([
    ["a path of its own", "/v1/profiles/..%2F..%2Fm2%2Fevil%2Fprofile%2Fupdate", 400],
    ["a '/' id", "/v1/profiles/%2F%2Fevil.example", 400],
    ["a dot segment", "/v1/profiles/%2E%2E", 404],
    ["a raw dot-dot path", "/v1/profiles/../../m2/evil", 404],
    ["a double-slash path", "//evil.example/v1/profiles/crm-1", 404],
  ])("refuses %s without calling Target", async (_, path, status) => {
    const { sent } = fakeTarget();

    const response = await send(post(path, { attributes: { tier: "gold" } }));

    expect(response.status).toBe(status);
    expect(sent).toEqual([]);
  });

  it.each(["https%3A%2F%2Fevil.example%2Fm2%2Fx", "acme-1%26showDetails%3Dfalse", "acme-1%3Fx"])(
    "refuses batch id %s without calling Target",
    async (batchId) => {
      const { sent } = fakeTarget();

      const response = await send(get(`/v1/batches/${batchId}`));

      expect(response.status).toBe(400);
      expect(await errorOf(response)).toMatchObject({ code: "invalid_input", field: "batchId" });
      expect(sent).toEqual([]);
    },
  );

  it("ignores the caller's host, forwarding and authorization headers", async () => {
    const { emulator, sent } = fakeTarget();
    emulator.seedProfile({ thirdPartyId: "crm-h" });
    const request = post(
      "/v1/profiles/crm-h",
      { attributes: { tier: "gold" } },
      {
        headers: {
          host: "evil.example",
          "x-forwarded-host": "evil.example",
          "x-forwarded-proto": "http",
          forwarded: "host=evil.example",
          "x-target-client": "evil",
          cookie: "session=caller",
        },
      },
    );

    expect((await handleRequest(request, env)).status).toBe(202);

    expect(sent).toHaveLength(1);
    expect(new URL(sent[0]?.url as string).origin).toBe("https://acme.tt.omtrdc.net");
    expect(sent[0]?.headers).toEqual({ authorization: `Bearer ${TARGET_TOKEN}` });
  });
});
