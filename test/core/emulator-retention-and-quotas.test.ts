import { describe, expect, it } from "vitest";
import { createTargetEmulator, type TargetEmulatorOptions } from "../../src/emulator/index.js";

const BASE = "https://acme.tt.omtrdc.net";
const FORM = { "content-type": "application/x-www-form-urlencoded" };
const DAY = 24 * 60 * 60 * 1000;

function setup(options: TargetEmulatorOptions = {}) {
  let clock = Date.UTC(2024, 0, 1);
  const emulator = createTargetEmulator({ ...options, now: () => clock });
  return {
    emulator,
    advance: (ms: number) => {
      clock += ms;
    },
  };
}

async function submit(emulator: ReturnType<typeof setup>["emulator"], clientCode = "acme"): Promise<string> {
  const response = await emulator.fetch(
    new Request(`${BASE}/m2/${clientCode}/v2/profile/batchUpdate`, {
      method: "POST",
      headers: FORM,
      body: "batch=thirdPartyId,tier\ncrm-1,gold",
    }),
  );
  return /<batchStatus>(.*)<\/batchStatus>/.exec(await response.text())![1]!.replaceAll("&amp;", "&");
}

describe("batch status retention", () => {
  it("keeps only the last 10 statuses of each client", async () => {
    const { emulator } = setup({ pollsUntilComplete: 0 });
    const acme = [];
    for (let index = 0; index < 11; index++) acme.push(await submit(emulator));
    const other = await submit(emulator, "other");
    const statuses = await Promise.all([...acme, other].map(async (url) => (await emulator.fetch(url)).status));
    // The oldest of acme's 11 is forgotten; another client's batch does not push acme's out.
    expect(statuses).toEqual([404, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200]);
    const forgotten = await emulator.fetch(acme[0]!);
    expect(await forgotten.text()).toMatch(/^<response><success>false<\/success>/);
    // Its rows were applied all the same: only the status is gone.
    expect(emulator.getProfile({ thirdPartyId: "crm-1" })?.attributes).toEqual({ tier: "gold" });
  });

  it("keeps a status for at most 24 hours", async () => {
    const { emulator, advance } = setup({ pollsUntilComplete: 0 });
    const statusUrl = await submit(emulator);
    advance(DAY);
    expect((await emulator.fetch(statusUrl)).status).toBe(200);
    advance(1);
    expect((await emulator.fetch(statusUrl)).status).toBe(404);
  });
});

describe("daily quotas", () => {
  const update = (id: string) => `${BASE}/m2/acme/profile/update?mbox3rdPartyId=${id}&profile.a=1`;
  const fetchProfile = (id: string) => `${BASE}/rest/v1/profiles/thirdPartyId/${id}?client=acme`;

  it("answers 429 with Retry-After past the single updates of a rolling 24 hours", async () => {
    const { emulator, advance } = setup({ singleUpdatesPerDay: 2 });
    emulator.seedProfile({ thirdPartyId: "crm-1" });
    expect((await emulator.fetch(update("crm-1"))).status).toBe(200);
    advance(DAY / 2);
    expect((await emulator.fetch(update("crm-1"))).status).toBe(200);
    const refused = await emulator.fetch(update("crm-2"));
    expect(refused.status).toBe(429);
    // The first update leaves the window in 12 hours.
    expect(refused.headers.get("retry-after")).toBe(String(DAY / 2 / 1000));
    expect(await refused.text()).toBe(
      "<response><success>false</success><message>Limit of profile updates in 24 hours reached; " +
        "the next call succeeds in 43200 seconds</message></response>",
    );
    // Fetches have their own quota; refused calls do not count.
    expect((await emulator.fetch(fetchProfile("crm-1"))).status).toBe(200);
    advance(DAY / 2 - 1);
    expect((await emulator.fetch(update("crm-2"))).status).toBe(429);
    advance(1);
    expect((await emulator.fetch(update("crm-2"))).status).toBe(200);
    expect((await emulator.fetch(update("crm-2"))).status).toBe(429);
  });

  it("answers 429 in JSON past the fetches of a rolling 24 hours", async () => {
    const { emulator, advance } = setup({ fetchesPerDay: 1 });
    expect((await emulator.fetch(fetchProfile("nobody"))).status).toBe(404);
    const refused = await emulator.fetch(fetchProfile("nobody"));
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe(String(DAY / 1000));
    expect(await refused.json()).toEqual({
      status: 429,
      message: "Limit of profile fetches in 24 hours reached; the next call succeeds in 86400 seconds",
    });
    // Single updates and bulk calls are not held by it.
    expect((await emulator.fetch(update("crm-1"))).status).toBe(200);
    advance(DAY);
    expect((await emulator.fetch(fetchProfile("nobody"))).status).toBe(404);
  });

  it("starts afresh on reset", async () => {
    const { emulator } = setup({ singleUpdatesPerDay: 1 });
    expect((await emulator.fetch(update("crm-1"))).status).toBe(200);
    expect((await emulator.fetch(update("crm-1"))).status).toBe(429);
    emulator.reset();
    expect((await emulator.fetch(update("crm-1"))).status).toBe(200);
  });
});
