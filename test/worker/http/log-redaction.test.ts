import { describe, expect, it } from "vitest";
import { handleRequest } from "../../../worker/http/handle-request.js";
import {
  ADMIN_KEY,
  capturedLogs,
  envWith,
  fakeTarget,
  get,
  post,
  READ_KEY,
  RELAY,
  requestLines,
  send,
  TARGET_TOKEN,
  WRITE_KEY,
} from "../helpers.js";

// Personal data and secrets that must never reach a log line.
const CANARY_ID = "canary-id-0d9b";
const CANARY_VALUE = "canary-value-e5a2";
const CANARY_NAME = "canary-name-7f13";
const CANARY_QUERY = "canary-query-2c6d";
const CANARY_BAD_KEY = "canary-bad-key-4a1f0123456789abcdef01";
const CANARY_SECRET = "canary-signing-secret-9b3e0123456789ab";

describe("logs", () => {
  it("never hold an id, a value, a key, a token, a secret or a query string, whatever happens", async () => {
    let statuses: number[] = [];
    const lines = await capturedLogs(async () => {
      const { emulator } = fakeTarget({ pollsUntilComplete: 0 });
      emulator.seedProfile({ thirdPartyId: CANARY_ID, attributes: { [CANARY_NAME]: CANARY_VALUE } });
      const attributes = { tier: CANARY_VALUE };
      const requests: [Request, Parameters<typeof handleRequest>[1]?][] = [
        [post(`/v1/profiles/${CANARY_ID}?token=${CANARY_QUERY}`, { attributes })],
        [post(`/v1/profiles/${CANARY_ID}`, { attributes: { tier: { deep: CANARY_VALUE } } })],
        [post(`/v1/profiles/${CANARY_ID}`, `{"attributes":${CANARY_VALUE}`)],
        [post(`/v1/profiles/${CANARY_ID}`, { attributes }, { key: CANARY_BAD_KEY })],
        [post(`/v1/profiles/${CANARY_ID}`, { attributes }, { key: READ_KEY })],
        // (Another visitor: after a batch-route write, a visitor's single-route writes are queued a while.)
        [post("/v1/profiles", { updates: [{ mbox3rdPartyId: `${CANARY_ID}-b`, attributes }] }, { key: ADMIN_KEY })],
        [get(`/v1/profiles/${CANARY_ID}?${CANARY_QUERY}`)],
        [get(`/v1/nowhere/${CANARY_ID}`)],
        [
          post(`/v1/profiles/${CANARY_ID}`, { attributes: { [CANARY_NAME]: CANARY_VALUE } }),
          envWith({ RELAY_ALLOWED_ATTRIBUTES: ["tier"] }),
        ],
        [
          post(`/v1/profiles/${CANARY_ID}`, { attributes }),
          envWith({ RELAY_SIGNING_SECRETS: JSON.stringify([CANARY_SECRET]) }),
        ],
        [post(`/v1/profiles/${CANARY_ID}`, { attributes }), envWith({ RELAY_KEYS: `[${WRITE_KEY}` })],
      ];
      for (const [request, bindings] of requests) {
        statuses.push((bindings ? await handleRequest(request, bindings) : await send(request)).status);
      }
      // Target refusing, echoing the id and value back.
      emulator.injectFaults({
        status: 200,
        body: `<response><success>false</success><message>${CANARY_ID} ${CANARY_VALUE}</message></response>`,
      });
      statuses.push((await send(post(`/v1/profiles/${CANARY_ID}`, { attributes }))).status);
    });

    expect(statuses).toEqual([202, 400, 400, 401, 403, 202, 200, 404, 400, 401, 503, 502]);
    const text = lines.join("\n");
    for (const secret of [
      CANARY_ID,
      CANARY_VALUE,
      CANARY_NAME,
      CANARY_QUERY,
      CANARY_BAD_KEY,
      CANARY_SECRET,
      WRITE_KEY,
      READ_KEY,
      ADMIN_KEY,
      TARGET_TOKEN,
    ]) {
      expect(text).not.toContain(secret);
    }
    expect(requestLines(lines)).toHaveLength(statuses.length);
  });

  it("write one JSON line per request: its id, key name, route template, status, duration and counts", async () => {
    const { emulator } = fakeTarget();
    emulator.seedProfile({ thirdPartyId: "crm-log" });
    let requestId: string | null = null;

    const lines = await capturedLogs(async () => {
      const response = await send(
        post("/v1/profiles", {
          updates: [
            { mbox3rdPartyId: "crm-log", attributes: { tier: "gold", ltv: 3 } },
            { mbox3rdPartyId: "crm-log", attributes: { city: "Lyon" } },
          ],
        }),
      );
      requestId = response.headers.get("x-request-id");
      await send(new Request(`${RELAY}/healthz`));
    });

    expect(lines.map((line) => JSON.parse(line))).toEqual([
      {
        level: "info",
        requestId,
        route: "POST /v1/profiles",
        key: "test-writer",
        status: 202,
        durationMs: expect.any(Number),
        updates: 2,
        attributes: 3,
        rows: 1,
        delivery: "direct",
      },
      {
        level: "info",
        requestId: expect.any(String),
        route: "GET /healthz",
        status: 200,
        durationMs: expect.any(Number),
      },
    ]);
  });
});
