import { describe, expect, it } from "vitest";
import { createTargetEmulator, type TargetEmulatorOptions } from "../../src/emulator/index.js";

// Target applies updates and batches asynchronously ("generally in under one hour"): the emulator's
// visibilityDelay makes "accepted but not visible yet" observable, on its injectable clock.
const BASE = "https://acme.tt.omtrdc.net";
const FORM = { "content-type": "application/x-www-form-urlencoded" };
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

function setup(options: TargetEmulatorOptions) {
  let clock = Date.UTC(2024, 0, 1);
  const emulator = createTargetEmulator({ clientCode: "acme", ...options, now: () => clock });
  return {
    emulator,
    advance: (ms: number) => {
      clock += ms;
    },
  };
}

const update = (query: string) => `${BASE}/m2/acme/profile/update?${query}`;
const fetchProfile = (id: string) => `${BASE}/rest/v1/profiles/thirdPartyId/${id}?client=acme`;

async function submit(emulator: ReturnType<typeof setup>["emulator"], body: string): Promise<string> {
  const response = await emulator.fetch(
    new Request(`${BASE}/m2/acme/v2/profile/batchUpdate`, { method: "POST", headers: FORM, body }),
  );
  const text = await response.text();
  expect(text).toContain("<success>true</success>");
  return /<batchStatus>(.*)<\/batchStatus>/.exec(text)![1]!.replaceAll("&amp;", "&");
}

describe("visibility delay", () => {
  it("is instant by default", async () => {
    const { emulator } = setup({});
    emulator.seedProfile({ thirdPartyId: "crm-1" });
    await emulator.fetch(update("mbox3rdPartyId=crm-1&profile.tier=gold"));
    expect(emulator.getProfile({ thirdPartyId: "crm-1" })?.attributes).toEqual({ tier: "gold" });
  });

  it("accepts a single update at once and shows it only after the delay", async () => {
    const { emulator, advance } = setup({ visibilityDelay: { singleUpdate: 5 * MINUTE } });
    emulator.seedProfile({ thirdPartyId: "crm-1", attributes: { tier: "silver" } });
    const accepted = await emulator.fetch(update("mbox3rdPartyId=crm-1&profile.tier=gold"));
    expect(accepted.status).toBe(200);
    expect(await accepted.text()).toContain("<success>true</success>");

    advance(5 * MINUTE - 1);
    const before = await (await emulator.fetch(fetchProfile("crm-1"))).json();
    expect(before.profileAttributes.tier.value).toBe("silver");
    expect(emulator.getProfile({ thirdPartyId: "crm-1" })?.attributes).toEqual({ tier: "silver" });

    advance(1);
    const after = await (await emulator.fetch(fetchProfile("crm-1"))).json();
    expect(after.profileAttributes.tier).toEqual({ value: "gold", modifiedAt: "2024-01-01T00:05:00.000Z" });
  });

  it("applies a single update to a profile that exists once it becomes visible", async () => {
    const { emulator, advance } = setup({ visibilityDelay: { singleUpdate: MINUTE } });
    await emulator.fetch(update("mbox3rdPartyId=late&profile.tier=gold"));
    emulator.seedProfile({ thirdPartyId: "late" });
    advance(MINUTE);
    expect(emulator.getProfile({ thirdPartyId: "late" })?.attributes).toEqual({ tier: "gold" });
  });

  it("keeps a batch's new profile out of sight (fetch 404) and its status incomplete until the delay passes", async () => {
    const { emulator, advance } = setup({ visibilityDelay: { batch: 30 * MINUTE }, pollsUntilComplete: 0 });
    const statusUrl = await submit(emulator, "batch=thirdPartyId,tier\ncrm-1,gold");

    advance(30 * MINUTE - 1);
    expect((await emulator.fetch(fetchProfile("crm-1"))).status).toBe(404);
    const pending = await (await emulator.fetch(`${statusUrl}&showDetails=true`)).text();
    expect(pending).toContain(
      "<status>incomplete</status><batchSize>1</batchSize><consumedCount>0</consumedCount><successfulUpdates>0</successfulUpdates>",
    );

    advance(1);
    const done = await (await emulator.fetch(`${statusUrl}&showDetails=true`)).text();
    expect(done).toContain("<status>complete</status><batchSize>1</batchSize><consumedCount>1</consumedCount>");
    const profile = await emulator.fetch(fetchProfile("crm-1"));
    expect(profile.status).toBe(200);
    expect((await profile.json()).profileAttributes.tier.value).toBe("gold");
  });

  it("applies writes in the order they become visible, not the order they were accepted", async () => {
    const { emulator, advance } = setup({ visibilityDelay: { singleUpdate: 10 * MINUTE, batch: MINUTE } });
    emulator.seedProfile({ thirdPartyId: "crm-1" });
    await emulator.fetch(update("mbox3rdPartyId=crm-1&profile.tier=gold"));
    await submit(emulator, "batch=thirdPartyId,tier\ncrm-1,silver");
    advance(MINUTE);
    expect(emulator.getProfile({ thirdPartyId: "crm-1" })?.attributes).toEqual({ tier: "silver" });
    advance(9 * MINUTE);
    expect(emulator.getProfile({ thirdPartyId: "crm-1" })?.attributes).toEqual({ tier: "gold" });
  });

  it('"realistic": single updates after a minute, batches after an hour', async () => {
    const { emulator, advance } = setup({ visibilityDelay: "realistic", pollsUntilComplete: 0 });
    emulator.seedProfile({ thirdPartyId: "crm-1" });
    await emulator.fetch(update("mbox3rdPartyId=crm-1&profile.tier=gold"));
    const statusUrl = await submit(emulator, "batch=thirdPartyId,city\ncrm-1,Paris");
    advance(MINUTE - 1);
    expect(emulator.getProfile({ thirdPartyId: "crm-1" })?.attributes).toEqual({});
    advance(1);
    expect(emulator.getProfile({ thirdPartyId: "crm-1" })?.attributes).toEqual({ tier: "gold" });
    advance(HOUR - MINUTE - 1);
    expect(await (await emulator.fetch(statusUrl)).text()).toContain("<status>incomplete</status>");
    advance(1);
    expect(await (await emulator.fetch(statusUrl)).text()).toContain("<status>complete</status>");
    expect(emulator.getProfile({ thirdPartyId: "crm-1" })?.attributes).toEqual({ tier: "gold", city: "Paris" });
  });

  it("forgets writes not yet visible on reset", async () => {
    const { emulator, advance } = setup({ visibilityDelay: { batch: MINUTE } });
    await submit(emulator, "batch=thirdPartyId,tier\ncrm-1,gold");
    emulator.reset();
    advance(MINUTE);
    expect(emulator.profiles()).toEqual([]);
  });
});
