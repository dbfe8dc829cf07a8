import { describe, expect, it } from "vitest";
import { createTargetEmulator, type ConsecutiveBatches } from "../../src/emulator/index.js";

// Adobe: "Consecutive v2 batch update calls without mbox calls in between for the same thirdPartyIds
// override the properties updated in the first batch update call."
const BASE = "https://acme.tt.omtrdc.net";
const FORM = { "content-type": "application/x-www-form-urlencoded" };

function setup(consecutiveBatches?: ConsecutiveBatches) {
  const emulator = createTargetEmulator(consecutiveBatches ? { consecutiveBatches } : {});
  const submit = async (body: string, version: 1 | 2 = 2) => {
    const path = version === 2 ? "/m2/acme/v2/profile/batchUpdate" : "/m2/acme/profile/batchUpdate";
    const response = await emulator.fetch(new Request(BASE + path, { method: "POST", headers: FORM, body }));
    expect(await response.text()).toContain("<success>true</success>");
  };
  const attributes = (thirdPartyId: string) => emulator.getProfile({ thirdPartyId })?.attributes;
  return { emulator, submit, attributes };
}

describe("consecutive v2 batches", () => {
  it('"merge" (the default): later values win per attribute, nothing is lost', async () => {
    const { emulator, submit, attributes } = setup();
    emulator.seedProfile({ thirdPartyId: "crm-1", attributes: { tier: "silver" } });
    await submit("batch=thirdPartyId,tier,city\ncrm-1,gold,Paris");
    await submit("batch=thirdPartyId,ltv\ncrm-1,5");
    expect(attributes("crm-1")).toEqual({ tier: "gold", city: "Paris", ltv: "5" });
  });

  it('"replace": the later batch replaces what the earlier one set for that id', async () => {
    const { emulator, submit, attributes } = setup("replace");
    emulator.seedProfile({ thirdPartyId: "crm-1", attributes: { tier: "silver" } });
    await submit("batch=thirdPartyId,tier,city\ncrm-1,gold,Paris\ncrm-2,gold,Lyon");
    expect(attributes("crm-1")).toEqual({ tier: "gold", city: "Paris" });
    await submit("batch=thirdPartyId,ltv\ncrm-1,5");
    // tier goes back to what it was before the first batch, city away; crm-2 was not in the second batch.
    expect(attributes("crm-1")).toEqual({ tier: "silver", ltv: "5" });
    expect(attributes("crm-2")).toEqual({ tier: "gold", city: "Lyon" });
    await submit("batch=thirdPartyId,city\ncrm-1,Nice");
    expect(attributes("crm-1")).toEqual({ tier: "silver", city: "Nice" });
  });

  it('"replace": a value something else wrote since is kept; one batch naming an id twice is one update', async () => {
    const { emulator, submit, attributes } = setup("replace");
    await submit("batch=thirdPartyId,tier,city\ncrm-1,gold,Paris");
    await emulator.fetch(`${BASE}/m2/acme/profile/update?mbox3rdPartyId=crm-1&profile.city=Lyon`);
    await submit("batch=thirdPartyId,ltv,points\ncrm-1,5,\ncrm-1,,10");
    expect(attributes("crm-1")).toEqual({ city: "Lyon", ltv: "5", points: "10" });
  });

  it('"replace": v1 batches and pcId files are not chained', async () => {
    const { emulator, submit, attributes } = setup("replace");
    emulator.seedProfile({ thirdPartyId: "crm-1", tntId: "pc-1" });
    await submit("batch=thirdPartyId,tier\ncrm-1,gold", 1);
    await submit("batch=thirdPartyId,city\ncrm-1,Paris", 1);
    await submit("batch=pcId,ltv\npc-1,5");
    await submit("batch=pcId,points\npc-1,10");
    expect(attributes("crm-1")).toEqual({ tier: "gold", city: "Paris", ltv: "5", points: "10" });
  });
});
