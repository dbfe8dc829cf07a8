import { describe, expect, it } from "vitest";
import { fakeTarget, get, post, READ_KEY, send, WRITE_KEY } from "../helpers.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe("POST /v1/profiles/{mbox3rdPartyId}", () => {
  it("forwards one update to Target and answers 202 with the request id", async () => {
    const { emulator, sent } = fakeTarget();
    emulator.seedProfile({ thirdPartyId: "crm-42" });

    const response = await send(
      post("/v1/profiles/crm-42", { attributes: { tier: "gold", ltv: 1200, vip: true, city: null } }),
    );

    expect(response.status).toBe(202);
    const body = (await response.json()) as { requestId: string };
    expect(body).toEqual({ requestId: expect.stringMatching(UUID), via: "single-update" });
    expect(response.headers.get("x-request-id")).toBe(body.requestId);
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(sent.map(({ url }) => url)).toEqual([
      "https://acme.tt.omtrdc.net/m2/acme/profile/update?mbox3rdPartyId=crm-42&profile.tier=gold&profile.ltv=1200&profile.vip=true",
    ]);
    expect(emulator.getProfile({ thirdPartyId: "crm-42" })?.attributes).toEqual({
      tier: "gold",
      ltv: "1200",
      vip: "true",
    });
  });

  it("takes any id Target takes, decoded from the path and re-encoded by the core", async () => {
    const { emulator } = fakeTarget();
    const id = "José Müller & Co=1?#ü";
    emulator.seedProfile({ thirdPartyId: id });

    const response = await send(post(`/v1/profiles/${encodeURIComponent(id)}`, { attributes: { tier: "silver" } }));

    expect(response.status).toBe(202);
    expect(emulator.getProfile({ thirdPartyId: id })?.attributes).toEqual({ tier: "silver" });
  });

  it("answers 202 for an unknown profile, which Target's single update does not create", async () => {
    const { emulator } = fakeTarget();

    const response = await send(post("/v1/profiles/crm-unknown", { attributes: { tier: "gold" } }));

    expect(response.status).toBe(202);
    expect(emulator.getProfile({ thirdPartyId: "crm-unknown" })).toBeUndefined();
  });
});

describe("POST /v1/profiles", () => {
  it("sends the updates as one v2 batch file, which creates missing profiles", async () => {
    const { emulator, sent } = fakeTarget();
    const updates = [
      { mbox3rdPartyId: "crm-b1", attributes: { tier: "gold", ltv: 1200 } },
      { mbox3rdPartyId: "crm-b2", attributes: { tier: "silver" } },
    ];

    const response = await send(post("/v1/profiles", { updates }));

    expect(response.status).toBe(202);
    const body = (await response.json()) as { requestId: string; batchId: string; rows: number };
    expect(body).toEqual({ requestId: expect.stringMatching(UUID), batchId: expect.stringMatching(/^acme-/), rows: 2 });
    expect(response.headers.get("location")).toBe(`/v1/batches/${body.batchId}`);
    expect(sent.map(({ url }) => url)).toEqual(["https://acme.tt.omtrdc.net/m2/acme/v2/profile/batchUpdate"]);
    expect(emulator.getProfile({ thirdPartyId: "crm-b1" })?.attributes).toEqual({ tier: "gold", ltv: "1200" });
    expect(emulator.getProfile({ thirdPartyId: "crm-b2" })?.attributes).toEqual({ tier: "silver" });
  });

  it("merges a repeated id into one row, later values winning", async () => {
    const { emulator } = fakeTarget();
    const updates = [
      { mbox3rdPartyId: "crm-m", attributes: { tier: "gold", city: "Paris" } },
      { mbox3rdPartyId: "crm-m", attributes: { tier: "platinum" } },
    ];

    const response = await send(post("/v1/profiles", { updates }));

    expect(response.status).toBe(202);
    expect(await response.json()).toMatchObject({ rows: 1 });
    expect(emulator.getProfile({ thirdPartyId: "crm-m" })?.attributes).toEqual({ tier: "platinum", city: "Paris" });
  });
});

describe("GET /v1/batches/{batchId}", () => {
  it("answers the batch's status with its counters and failed ids, to write and read keys", async () => {
    const { emulator } = fakeTarget({ pollsUntilComplete: 0 });
    emulator.failRows(["crm-s-bad"]);
    const updates = [
      { mbox3rdPartyId: "crm-s1", attributes: { tier: "gold" } },
      { mbox3rdPartyId: "crm-s-bad", attributes: { tier: "gold" } },
    ];
    const { batchId } = (await (await send(post("/v1/profiles", { updates }))).json()) as { batchId: string };

    for (const key of [WRITE_KEY, READ_KEY]) {
      const response = await send(get(`/v1/batches/${batchId}`, { key }));
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({
        batchId,
        status: "complete",
        batchSize: 2,
        consumedCount: 2,
        successfulUpdates: 1,
        profilesNotFound: 0,
        failedUpdates: 1,
        failedIds: ["crm-s-bad"],
      });
    }
  });

  it("reports a batch still being processed", async () => {
    fakeTarget({ pollsUntilComplete: 5 });
    const updates = [{ mbox3rdPartyId: "crm-s2", attributes: { tier: "gold" } }];
    const { batchId } = (await (await send(post("/v1/profiles", { updates }))).json()) as { batchId: string };

    const response = await send(get(`/v1/batches/${batchId}`));

    expect(await response.json()).toMatchObject({ batchId, status: "incomplete" });
  });
});

describe("GET /v1/profiles/{mbox3rdPartyId}", () => {
  it("answers the profile, attributes in the shape they are written", async () => {
    const { emulator, sent } = fakeTarget();
    emulator.seedProfile({ thirdPartyId: "crm-r1", attributes: { tier: "gold", ltv: "1200" } });

    const response = await send(get("/v1/profiles/crm-r1"));

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      mbox3rdPartyId: "crm-r1",
      modifiedAt: expect.any(String),
      attributes: { tier: "gold", ltv: "1200" },
    });
    expect(sent.map(({ url }) => url)).toEqual([
      "https://acme.tt.omtrdc.net/rest/v1/profiles/thirdPartyId/crm-r1?client=acme",
    ]);
  });
});

describe("GET /healthz", () => {
  it("answers 200 without credentials", async () => {
    const response = await send(new Request("https://relay.example/healthz"));

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ok" });
  });
});
