import { describe, expect, it } from "vitest";
import { handleRequest } from "../../../worker/http/handle-request.js";
import { capturedLogs, envWith, errorOf, fakeTarget, post } from "../helpers.js";
import { bundleMessage, consume, QUEUES, queuedBindings, updateMessage } from "../queue-helpers.js";

// `__proto__`, `constructor` and `prototype` are refused as attribute names on every route, in every
// delivery mode, with 400 naming the field and the rule; never dropped, never a 5xx. The queues' consumers
// take no message holding one either.
const RESERVED = ["__proto__", "constructor", "prototype"] as const;
const RULE = 'attribute names must not be "__proto__", "constructor" or "prototype"';
const NESTED = { deep: { deeper: { deepest: [1, { more: "x" }] } } };

/** JSON attributes holding `name` as an own key next to `tier` (a `__proto__` literal would set the prototype). */
const attributesJson = (name: string, value: unknown) =>
  `{${JSON.stringify(name)}:${JSON.stringify(value)},"tier":"gold"}`;

const MODES = [
  ["direct, without queues", () => ({ bindings: envWith({ UPDATES_QUEUE: undefined }), queued: () => 0 })],
  ...(["direct", "queue", "auto"] as const).map(
    (mode) =>
      [
        `${mode}, with queues`,
        () => {
          const { bindings, updates, deliveries } = queuedBindings({ RELAY_DELIVERY: mode });
          return { bindings, queued: () => updates.sent.length + deliveries.sent.length };
        },
      ] as const,
  ),
] as const;

describe.each(MODES)("RELAY_DELIVERY %s", (_, setup) => {
  describe.each(RESERVED)("the attribute name %s", (name) => {
    it.each([
      ["a string value", "x"],
      ["a deeply nested object value", NESTED],
    ])("is refused with 400 by POST /v1/profiles/{id}: %s", async (_, value) => {
      const { emulator, sent } = fakeTarget();
      emulator.seedProfile({ thirdPartyId: "crm-r1" });
      const { bindings, queued } = setup();

      const response = await handleRequest(
        post("/v1/profiles/crm-r1", `{"attributes":${attributesJson(name, value)}}`),
        bindings,
      );

      expect(response.status).toBe(400);
      expect(await errorOf(response)).toEqual({
        code: "invalid_input",
        field: `attributes.${name}`,
        message: `attributes.${name}: ${RULE}`,
      });
      expect([sent.length, queued()]).toEqual([0, 0]);
    });

    it.each([
      ["a string value", "x"],
      ["a deeply nested object value", NESTED],
    ])("is refused with 400 by POST /v1/profiles: %s", async (_, value) => {
      const { sent } = fakeTarget();
      const { bindings, queued } = setup();
      const body = `{"updates":[{"mbox3rdPartyId":"crm-r2","attributes":{"tier":"gold"}},{"mbox3rdPartyId":"crm-r3","attributes":${attributesJson(name, value)}}]}`;

      const response = await handleRequest(post("/v1/profiles", body), bindings);

      expect(response.status).toBe(400);
      expect(await errorOf(response)).toEqual({
        code: "invalid_input",
        field: `updates[1].attributes.${name}`,
        message: `updates[1].attributes.${name}: ${RULE}`,
      });
      expect([sent.length, queued()]).toEqual([0, 0]);
    });
  });
});

describe("the queues' consumers", () => {
  /** A message body whose update holds `name` as an own attribute key. */
  const withReserved = <T extends object>(message: T, name: string): T =>
    JSON.parse(JSON.stringify(message).replace('"attributes":{', `"attributes":{${JSON.stringify(name)}:"x",`)) as T;

  it.each(RESERVED)(
    "deliver no update holding %s: the rest of its bundle goes, it is counted invalid",
    async (name) => {
      const { emulator } = fakeTarget({ pollsUntilComplete: 0 });
      const { bindings } = queuedBindings();
      const good = updateMessage(`crm-r4-${name}`, { tier: "gold" }, Date.now(), "batch");
      const bad = withReserved(updateMessage(`crm-r5-${name}`, { tier: "gold" }, Date.now(), "batch"), name);

      const lines = await capturedLogs(() =>
        consume(QUEUES.deliveries, [{ body: bundleMessage([good, bad]) }], bindings),
      );

      expect(emulator.getProfile({ thirdPartyId: `crm-r4-${name}` })?.attributes).toEqual({ tier: "gold" });
      expect(emulator.getProfile({ thirdPartyId: `crm-r5-${name}` })).toBeUndefined();
      expect(JSON.parse(lines.find((line) => line.includes('"queue"')) as string)).toMatchObject({
        invalid: 1,
        updates: 1,
      });
    },
  );

  it.each(RESERVED)(
    "take an update message holding %s for one that is not theirs: retried, never acked",
    async (name) => {
      const { bindings, deliveries } = queuedBindings();
      const bad = withReserved(updateMessage("crm-r6", { tier: "gold" }, Date.now()), name);

      const settled = await consume(QUEUES.updates, [{ body: bad, id: "bad" }], bindings);

      expect(settled.acked).toEqual([]);
      expect([...settled.retried.keys()]).toEqual(["bad"]);
      expect(deliveries.sent).toEqual([]);
    },
  );
});
