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
  requestLines,
  WRITE_KEY,
} from "../helpers.js";

const CANARY_SECRET = "canary-config-secret-77e1";
const key = (name: string, value: string, scope = "write") => ({ name, key: value, scope });

describe("configuration, checked on first use", () => {
  it.each([
    [
      "RELAY_KEYS is missing",
      { RELAY_KEYS: undefined },
      "RELAY_KEYS: must be a JSON array of { name, key, scope } (wrangler secret put RELAY_KEYS)",
    ],
    [
      "RELAY_KEYS is not JSON",
      { RELAY_KEYS: `[${CANARY_SECRET}` },
      "RELAY_KEYS: must be a JSON array of { name, key, scope } (wrangler secret put RELAY_KEYS)",
    ],
    ["RELAY_KEYS is empty", { RELAY_KEYS: "[]" }, "RELAY_KEYS: must hold at least one key"],
    [
      "a key has no scope",
      { RELAY_KEYS: JSON.stringify([{ name: "a", key: CANARY_SECRET.repeat(2) }]) },
      "RELAY_KEYS[0].scope: is required",
    ],
    [
      "a scope is unknown",
      { RELAY_KEYS: JSON.stringify([key("a", CANARY_SECRET.repeat(2), "owner")]) },
      'RELAY_KEYS[0].scope: must be "write", "read", "admin", or several',
    ],
    [
      "a key name could not be logged",
      { RELAY_KEYS: JSON.stringify([key("a b", CANARY_SECRET.repeat(2))]) },
      "RELAY_KEYS[0].name: must be a label",
    ],
    [
      "two keys share a name",
      { RELAY_KEYS: JSON.stringify([key("a", CANARY_SECRET.repeat(2)), key("a", CANARY_SECRET.repeat(3))]) },
      "RELAY_KEYS: key names must be unique",
    ],
    [
      "a key is short",
      { RELAY_KEYS: JSON.stringify([key("a", CANARY_SECRET)]) },
      "RELAY_KEYS: keys must be at least 32 characters",
    ],
    [
      "TARGET_TOKEN is missing",
      { TARGET_TOKEN: undefined },
      "TARGET_TOKEN: is required (wrangler secret put TARGET_TOKEN)",
    ],
    ["TARGET_CLIENT_CODE is missing", { TARGET_CLIENT_CODE: undefined }, "TARGET_CLIENT_CODE: is required"],
    [
      "TARGET_CLIENT_CODE is a host",
      { TARGET_CLIENT_CODE: "evil.example/x" },
      "TARGET_CLIENT_CODE: clientCode must be a DNS label",
    ],
    [
      "TARGET_UPSTREAM is unknown",
      { TARGET_UPSTREAM: "https://evil.example" },
      'TARGET_UPSTREAM: must be "target" or "emulator"',
    ],
    [
      "an emulator seed is set against Target",
      { TARGET_EMULATOR_SEED: "crm-42" },
      'TARGET_EMULATOR_SEED: only applies with TARGET_UPSTREAM = "emulator"',
    ],
    [
      "an emulator visibility delay is set against Target",
      { TARGET_EMULATOR_VISIBILITY_DELAY: "realistic" },
      'TARGET_EMULATOR_VISIBILITY_DELAY: only applies with TARGET_UPSTREAM = "emulator"',
    ],
    [
      "an emulator visibility delay is neither realistic nor milliseconds",
      { TARGET_UPSTREAM: "emulator", TARGET_EMULATOR_VISIBILITY_DELAY: '{"batch":"an hour"}' },
      'TARGET_EMULATOR_VISIBILITY_DELAY: must be "realistic" or { "singleUpdate"?, "batch"? } in milliseconds',
    ],
    [
      "an emulator reading of consecutive batches is unknown",
      { TARGET_UPSTREAM: "emulator", TARGET_EMULATOR_CONSECUTIVE_BATCHES: "strict" },
      'TARGET_EMULATOR_CONSECUTIVE_BATCHES: must be "merge" or "replace"',
    ],
    [
      "the signing secrets are not a list",
      { RELAY_SIGNING_SECRETS: CANARY_SECRET },
      "RELAY_SIGNING_SECRETS: must be a JSON array of secrets",
    ],
    [
      "a signing secret is short",
      { RELAY_SIGNING_SECRETS: JSON.stringify([CANARY_SECRET]) },
      "RELAY_SIGNING_SECRETS: secrets must be at least 32 characters",
    ],
    [
      "more than 5 signing secrets",
      { RELAY_SIGNING_SECRETS: JSON.stringify(Array.from({ length: 6 }, (_, index) => `${CANARY_SECRET}-${index}`)) },
      "RELAY_SIGNING_SECRETS: must hold at most 5 secrets",
    ],
    [
      "the allow-list names a prefixed attribute",
      { RELAY_ALLOWED_ATTRIBUTES: ["profile.tier"] },
      "RELAY_ALLOWED_ATTRIBUTES[0]: attribute names must not start with 'profile.'",
    ],
    [
      "RELAY_MAX_BATCH_ROWS is over Target's limit",
      { RELAY_MAX_BATCH_ROWS: "600000" },
      "RELAY_MAX_BATCH_ROWS: must be at most 500000",
    ],
    [
      "the rate limit binding is missing",
      { RELAY_RATE_LIMIT: undefined },
      "RELAY_RATE_LIMIT: must be a [[ratelimits]] binding",
    ],
    ["TARGET_RETRY is no policy", { TARGET_RETRY: { limit: -1 } }, "TARGET_RETRY: retry.limit must not be negative"],
    ["TARGET_TIMEOUT is zero", { TARGET_TIMEOUT: "0" }, "TARGET_TIMEOUT: must be at least 1"],
    [
      "RELAY_DELIVERY is unknown",
      { RELAY_DELIVERY: "later" },
      'RELAY_DELIVERY: must be "direct", "queue", "auto" or "realtime"',
    ],
    [
      "a queue binding is missing in queue mode",
      { RELAY_DELIVERY: "queue", UPDATES_QUEUE: undefined },
      'UPDATES_QUEUE: is required when RELAY_DELIVERY is "queue"',
    ],
    [
      "a Durable Object binding is missing in auto mode",
      { RELAY_DELIVERY: "auto", NEWEST_WRITES: undefined },
      'NEWEST_WRITES: is required when RELAY_DELIVERY is "auto"',
    ],
    [
      "the cap of billed calls is missing in realtime mode",
      { RELAY_DELIVERY: "realtime" },
      'RELAY_REALTIME_CALLS_PER_DAY: is required when RELAY_DELIVERY is "realtime"',
    ],
    [
      "the sessions binding is missing in realtime mode",
      { RELAY_DELIVERY: "realtime", RELAY_REALTIME_CALLS_PER_DAY: "1000", REALTIME_SESSIONS: undefined },
      'REALTIME_SESSIONS: is required when RELAY_DELIVERY is "realtime"',
    ],
    [
      "a queue binding is missing in realtime mode (its fallback)",
      { RELAY_DELIVERY: "realtime", RELAY_REALTIME_CALLS_PER_DAY: 1000, UPDATES_QUEUE: undefined },
      'UPDATES_QUEUE: is required when RELAY_DELIVERY is "realtime"',
    ],
    [
      "the cap of billed calls is no whole number",
      { RELAY_DELIVERY: "realtime", RELAY_REALTIME_CALLS_PER_DAY: "0.5" },
      "RELAY_REALTIME_CALLS_PER_DAY: must be a whole number",
    ],
    [
      "a queue binding is something else",
      { DELIVERIES_QUEUE: { send: CANARY_SECRET } },
      "DELIVERIES_QUEUE: must be a [[queues.producers]] binding",
    ],
    [
      "the quotas binding is missing, even in direct delivery",
      { TARGET_QUOTAS: undefined },
      "TARGET_QUOTAS: must be a [[durable_objects.bindings]] binding",
    ],
    [
      "the idempotency binding is missing",
      { IDEMPOTENCY_KEYS: undefined },
      "IDEMPOTENCY_KEYS: must be a [[durable_objects.bindings]] binding",
    ],
    [
      "RELAY_SINGLE_UPDATE_SHARE is over 1",
      { RELAY_SINGLE_UPDATE_SHARE: "1.5" },
      "RELAY_SINGLE_UPDATE_SHARE: must be a number above 0 and at most 1",
    ],
    [
      "TARGET_BULK_CALLS_PER_MINUTE is over Target's limit",
      { TARGET_BULK_CALLS_PER_MINUTE: 60 },
      "TARGET_BULK_CALLS_PER_MINUTE: must be at most 50 (Target's limit)",
    ],
  ])("answers 503 when %s, and logs which var and rule, not its value", async (_, overrides, problem) => {
    const { sent } = fakeTarget();
    let response: Response | undefined;

    const lines = await capturedLogs(async () => {
      response = await handleRequest(post("/v1/profiles/crm-1", { attributes: { tier: "gold" } }), envWith(overrides));
    });

    expect(response?.status).toBe(503);
    expect(await errorOf(response as Response)).toEqual({
      code: "not_configured",
      message: "the relay is not configured",
    });
    const [line] = requestLines(lines);
    expect(line).toMatchObject({ level: "error", status: 503, error: "not_configured" });
    expect((line?.problems as string[]).some((text) => text.startsWith(problem))).toBe(true);
    expect(lines.join("\n")).not.toContain(CANARY_SECRET);
    expect(sent).toEqual([]);
  });

  it("names a var that is not set at all (rather than set to something else) as required", async () => {
    fakeTarget();
    const { TARGET_CLIENT_CODE: _, IDEMPOTENCY_KEYS: __, ...rest } = envWith({});
    let response: Response | undefined;

    const lines = await capturedLogs(async () => {
      response = await handleRequest(post("/v1/profiles/crm-1", { attributes: { tier: "gold" } }), rest as typeof env);
    });

    expect(response?.status).toBe(503);
    expect(requestLines(lines)[0]?.problems).toEqual([
      "TARGET_CLIENT_CODE: is required (see wrangler.toml)",
      "IDEMPOTENCY_KEYS: is required (see wrangler.toml)",
    ]);
  });

  it("runs direct delivery without the queues (their routes then say there are no dead letters)", async () => {
    const { emulator } = fakeTarget();
    emulator.seedProfile({ thirdPartyId: "crm-direct" });
    const direct = envWith({ UPDATES_QUEUE: undefined, DELIVERIES_QUEUE: undefined });

    const written = await handleRequest(post("/v1/profiles/crm-direct", { attributes: { tier: "gold" } }), direct);
    const deadLetters = await handleRequest(get("/v1/dead-letters", { key: ADMIN_KEY }), direct);

    expect(written.status).toBe(202);
    expect(emulator.getProfile({ thirdPartyId: "crm-direct" })?.attributes).toEqual({ tier: "gold" });
    expect(deadLetters.status).toBe(404);
  });

  it("keeps /healthz the same whether configured or not", async () => {
    const unconfigured = envWith({ RELAY_KEYS: undefined, TARGET_TOKEN: undefined, TARGET_CLIENT_CODE: undefined });

    const answers = [];
    for (const bindings of [env, unconfigured]) {
      const response = await handleRequest(new Request("https://relay.example/healthz"), bindings);
      answers.push({ status: response.status, body: await response.text() });
    }

    expect(answers).toEqual([
      { status: 200, body: '{"status":"ok"}' },
      { status: 200, body: '{"status":"ok"}' },
    ]);
  });

  it("checks the configuration once per environment", async () => {
    fakeTarget();
    const bindings = envWith({});
    const digest = vi.spyOn(crypto.subtle, "digest");

    await handleRequest(get("/v1/batches/acme-1-1", { key: WRITE_KEY }), bindings);
    const afterFirst = digest.mock.calls.length;
    await handleRequest(get("/v1/batches/acme-1-1", { key: WRITE_KEY }), bindings);

    // First request: the 3 configured keys and the presented one; then only the presented one.
    expect(afterFirst).toBe(4);
    expect(digest.mock.calls.length - afterFirst).toBe(1);
  });
});

describe('TARGET_UPSTREAM = "emulator" (npm start)', () => {
  const DEV_KEYS = JSON.stringify([key("dev-writer", "dev-key"), key("dev-reader", "dev-read-key", "read")]);
  const local = envWith({
    TARGET_CLIENT_CODE: "demo",
    TARGET_UPSTREAM: "emulator",
    TARGET_EMULATOR_SEED: "crm-42, crm-43",
    TARGET_TOKEN: undefined,
    RELAY_KEYS: DEV_KEYS,
  });

  it("round trips on a seeded profile: write with the write key, read back with the read key, never touching the network", async () => {
    const network = vi.spyOn(globalThis, "fetch");

    const written = await handleRequest(
      post("/v1/profiles/crm-42", { attributes: { tier: "gold", ltv: 1200 } }, { key: "dev-key" }),
      local,
    );
    const read = await handleRequest(get("/v1/profiles/crm-42", { key: "dev-read-key" }), local);

    expect(written.status).toBe(202);
    expect(read.status).toBe(200);
    expect(await read.json()).toMatchObject({ mbox3rdPartyId: "crm-42", attributes: { tier: "gold", ltv: "1200" } });
    expect(network).not.toHaveBeenCalled();
  });

  it("creates other profiles through the batch route only, as Target does", async () => {
    const single = await handleRequest(
      post("/v1/profiles/crm-new-1", { attributes: { tier: "gold" } }, { key: "dev-key" }),
      local,
    );
    const afterSingle = await handleRequest(get("/v1/profiles/crm-new-1", { key: "dev-read-key" }), local);
    const batch = await handleRequest(
      post(
        "/v1/profiles",
        { updates: [{ mbox3rdPartyId: "crm-new-1", attributes: { tier: "gold" } }] },
        { key: "dev-key" },
      ),
      local,
    );
    const afterBatch = await handleRequest(get("/v1/profiles/crm-new-1", { key: "dev-read-key" }), local);

    expect([single.status, afterSingle.status, batch.status, afterBatch.status]).toEqual([202, 404, 202, 200]);
    expect(await afterBatch.json()).toMatchObject({ attributes: { tier: "gold" } });
  });

  it("with a realistic visibility delay (TARGET_EMULATOR_VISIBILITY_DELAY), reads show a write only once Target applied it", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      const delayed = envWith({
        TARGET_CLIENT_CODE: "demo-delayed",
        TARGET_UPSTREAM: "emulator",
        TARGET_EMULATOR_SEED: "crm-42",
        TARGET_EMULATOR_VISIBILITY_DELAY: "realistic",
        TARGET_TOKEN: undefined,
        RELAY_KEYS: DEV_KEYS,
        UPDATES_QUEUE: undefined,
      });
      const read = async (id: string) => {
        const response = await handleRequest(get(`/v1/profiles/${id}`, { key: "dev-read-key" }), delayed);
        return response.status === 200
          ? ((await response.json()) as { attributes: Record<string, string> }).attributes
          : response.status;
      };
      const batchStatus = async (batchId: string) =>
        (
          (await (await handleRequest(get(`/v1/batches/${batchId}`, { key: "dev-read-key" }), delayed)).json()) as {
            status: string;
          }
        ).status;

      const single = await handleRequest(
        post("/v1/profiles/crm-42", { attributes: { tier: "gold" } }, { key: "dev-key" }),
        delayed,
      );
      const batch = await handleRequest(
        post(
          "/v1/profiles",
          { updates: [{ mbox3rdPartyId: "crm-new-2", attributes: { tier: "silver" } }] },
          { key: "dev-key" },
        ),
        delayed,
      );
      const { batchId } = (await batch.json()) as { batchId: string };
      const accepted = [
        single.status,
        batch.status,
        await read("crm-42"),
        await read("crm-new-2"),
        await batchStatus(batchId),
      ];
      vi.setSystemTime(Date.now() + 61_000);
      const afterAMinute = [await read("crm-42"), await read("crm-new-2")];
      // Past the status cache too (10 s).
      vi.setSystemTime(Date.now() + 60 * 60_000);
      const afterAnHour = [await read("crm-new-2"), await batchStatus(batchId)];

      expect(accepted).toEqual([202, 202, {}, 404, "incomplete"]);
      expect(afterAMinute).toEqual([{ tier: "gold" }, 404]);
      expect(afterAnHour).toEqual([{ tier: "silver" }, "complete"]);
    } finally {
      vi.useRealTimers();
    }
  });

  it("takes short dev keys against the emulator only", async () => {
    fakeTarget();
    const againstTarget = envWith({ RELAY_KEYS: DEV_KEYS });

    const response = await handleRequest(
      post("/v1/profiles/crm-42", { attributes: { tier: "gold" } }, { key: "dev-key" }),
      againstTarget,
    );

    expect(response.status).toBe(503);
  });
});
