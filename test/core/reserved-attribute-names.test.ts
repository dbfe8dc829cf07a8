import { describe, expect, it } from "vitest";
import {
  buildUpdateRequest,
  createRelayClient,
  createTargetClient,
  encodeBatches,
  isTargetValidationError,
  type ProfileUpdate,
} from "../../src/index.js";
import { createTargetEmulator } from "../../src/emulator/index.js";
import { failure } from "./support.js";

// `__proto__`, `constructor` and `prototype` are refused as attribute names everywhere (core, relay,
// queues, emulator) with one rule, never dropped: valibot's records skip them without a word, and on a
// plain object they would not be data.
const RESERVED = ["__proto__", "constructor", "prototype"] as const;
const RULE = 'attribute names must not be "__proto__", "constructor" or "prototype"';

/** An update whose attributes hold `name` as an own key (a `__proto__` literal would set the prototype instead). */
const updateWith = (name: string, value: unknown = "x"): ProfileUpdate =>
  JSON.parse(
    JSON.stringify({ mbox3rdPartyId: "crm-1", attributes: { tier: "gold" } }).replace(
      '"tier"',
      `${JSON.stringify(name)}:${JSON.stringify(value)},"tier"`,
    ),
  );

const issuesOf = (error: unknown) => (isTargetValidationError(error) ? error.issues : error);

describe.each(RESERVED)("the attribute name %s", (name) => {
  it("is an own key of the test's input, with a value", () => {
    const update = updateWith(name);
    expect(Object.keys(update.attributes)).toEqual([name, "tier"]);
  });

  it("is refused by buildUpdateRequest and updateProfile, naming the field and the rule", async () => {
    const emulator = createTargetEmulator({ clientCode: "acme" });
    emulator.seedProfile({ thirdPartyId: "crm-1" });
    const target = createTargetClient({ clientCode: "acme", fetch: emulator.fetch });

    expect(
      issuesOf(
        await failure(Promise.resolve().then(() => buildUpdateRequest(updateWith(name), { clientCode: "acme" }))),
      ),
    ).toEqual([{ path: `attributes.${name}`, message: RULE }]);
    expect(issuesOf(await failure(target.updateProfile(updateWith(name))))).toEqual([
      { path: `attributes.${name}`, message: RULE },
    ]);
    expect(emulator.calls).toEqual([]);
  });

  it("is refused by encodeBatches, also with an object value (any other name's object value is refused too)", async () => {
    const rows = [
      { mbox3rdPartyId: "crm-0", attributes: { tier: "gold" } },
      updateWith(name, { nested: { deeper: [1, 2, 3] } }),
    ];

    const error = await failure(Promise.resolve().then(() => [...encodeBatches(rows)]));

    expect(issuesOf(error)).toEqual([{ path: `[1].attributes.${name}`, message: RULE }]);
  });

  it("is refused by the relay client before anything is sent", async () => {
    let calls = 0;
    const relay = createRelayClient({
      url: "https://relay.example",
      apiKey: "key",
      fetch: async () => {
        calls++;
        return new Response("{}");
      },
    });

    expect(issuesOf(await failure(relay.updateProfile(updateWith(name) as never)))).toEqual([
      { path: `attributes.${name}`, message: RULE },
    ]);
    expect(issuesOf(await failure(relay.updateProfiles([updateWith(name) as never])))).toEqual([
      { path: `updates[0].attributes.${name}`, message: RULE },
    ]);
    expect(calls).toBe(0);
  });

  it("is refused by the emulator, in a single update and in a batch header, with 400 naming the rule", async () => {
    const emulator = createTargetEmulator({ clientCode: "acme" });
    emulator.seedProfile({ thirdPartyId: "crm-1" });
    const form = { "content-type": "application/x-www-form-urlencoded" };

    const single = await emulator.fetch(
      `https://acme.tt.omtrdc.net/m2/acme/profile/update?mbox3rdPartyId=crm-1&profile.${name}=x&profile.tier=gold`,
    );
    const batch = await emulator.fetch(
      new Request("https://acme.tt.omtrdc.net/m2/acme/v2/profile/batchUpdate", {
        method: "POST",
        headers: form,
        body: `batch=thirdPartyId,tier,${name}\ncrm-1,gold,x\ncrm-2,silver,y`,
      }),
    );

    expect(single.status).toBe(400);
    expect((await single.text()).replaceAll("&quot;", '"')).toContain(`Invalid profile attribute name: ${RULE}`);
    expect(batch.status).toBe(400);
    expect((await batch.text()).replaceAll("&quot;", '"')).toContain(`Invalid attribute name in header: ${RULE}`);
    expect(emulator.getProfile({ thirdPartyId: "crm-1" })?.attributes).toEqual({});
    expect(emulator.getProfile({ thirdPartyId: "crm-2" })).toBeUndefined();
  });
});
