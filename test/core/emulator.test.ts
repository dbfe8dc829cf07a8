import { afterEach, describe, expect, it, vi } from "vitest";
import { createTargetEmulator, type TargetEmulator } from "../../src/emulator/index.js";

// Raw requests built by hand, so that the emulator checks the client rather than trusting it.
const BASE = "https://acme.tt.omtrdc.net";
const FORM = { "content-type": "application/x-www-form-urlencoded" };
const UPDATE_OK =
  "<response><success>true</success><pcId></pcId><message>Request successfully submitted</message></response>";
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

function post(path: string, body: string, headers: Record<string, string> = FORM): Request {
  return new Request(BASE + path, { method: "POST", headers, body });
}

async function submitBatch(emulator: TargetEmulator, body: string, version: 1 | 2 = 2) {
  const path = version === 2 ? "/m2/acme/v2/profile/batchUpdate" : "/m2/acme/profile/batchUpdate";
  const response = await emulator.fetch(post(path, body));
  const text = await response.text();
  const statusUrl = /<batchStatus>(.*)<\/batchStatus>/.exec(text)?.[1]?.replaceAll("&amp;", "&");
  return { status: response.status, text, statusUrl };
}

async function batchStatus(emulator: TargetEmulator, statusUrl: string, details = true): Promise<string> {
  const response = await emulator.fetch(details ? `${statusUrl}&showDetails=true` : statusUrl);
  expect(response.status).toBe(200);
  return response.text();
}

/** Polls until complete (default pollsUntilComplete is 1, so the second poll completes). */
async function finalStatus(emulator: TargetEmulator, statusUrl: string): Promise<string> {
  await batchStatus(emulator, statusUrl, false);
  return batchStatus(emulator, statusUrl);
}

afterEach(() => {
  vi.useRealTimers();
});

describe("single profile update", () => {
  it("updates an existing profile over GET and answers the documented XML", async () => {
    const emulator = createTargetEmulator();
    emulator.seedProfile({ thirdPartyId: "crm-1", attributes: { tier: "silver", city: "Lyon" } });
    const response = await emulator.fetch(
      `${BASE}/m2/acme/profile/update?mbox3rdPartyId=crm-1&profile.tier=gold&profile.note=S%C3%A3o+Paulo`,
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/xml");
    expect(await response.text()).toBe(UPDATE_OK);
    expect(emulator.getProfile({ thirdPartyId: "crm-1" })?.attributes).toEqual({
      tier: "gold",
      city: "Lyon",
      note: "São Paulo",
    });
  });

  it("reads a POST form body", async () => {
    const emulator = createTargetEmulator();
    emulator.seedProfile({ thirdPartyId: "crm-1" });
    const response = await emulator.fetch(
      post("/m2/acme/profile/update", "mbox3rdPartyId=crm-1&profile.a%2Cb=1%262&profile.plus=%2B"),
    );
    expect(await response.text()).toBe(UPDATE_OK);
    expect(emulator.getProfile({ thirdPartyId: "crm-1" })?.attributes).toEqual({ "a,b": "1&2", plus: "+" });
  });

  it("reads a POST with its parameters in the query string and no body, as Segment sends it", async () => {
    const emulator = createTargetEmulator();
    emulator.seedProfile({ thirdPartyId: "crm-1" });
    const request = new Request(
      `${BASE}/m2/acme/profile/update?mbox3rdPartyId=crm-1&profile.tier=gold&profile.city=S%C3%A3o+Paulo`,
      {
        method: "POST",
      },
    );
    expect(request.headers.get("content-type")).toBeNull();
    const response = await emulator.fetch(request);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe(UPDATE_OK);
    expect(emulator.getProfile({ thirdPartyId: "crm-1" })?.attributes).toEqual({ tier: "gold", city: "São Paulo" });
  });

  it("reads a POST's query string and form body together, as a servlet does", async () => {
    const emulator = createTargetEmulator();
    emulator.seedProfile({ thirdPartyId: "crm-1" });
    const request = new Request(`${BASE}/m2/acme/profile/update?mbox3rdPartyId=crm-1&profile.tier=gold`, {
      method: "POST",
      headers: FORM,
      body: "profile.city=Lyon",
    });
    expect(await (await emulator.fetch(request)).text()).toBe(UPDATE_OK);
    expect(emulator.getProfile({ thirdPartyId: "crm-1" })?.attributes).toEqual({ tier: "gold", city: "Lyon" });
    // The id once in the query and once in the body is the id twice: refused.
    const twice = new Request(`${BASE}/m2/acme/profile/update?mbox3rdPartyId=crm-1`, {
      method: "POST",
      headers: FORM,
      body: "mbox3rdPartyId=crm-1&profile.tier=silver",
    });
    expect((await emulator.fetch(twice)).status).toBe(400);
  });

  it("matches mboxPC against the tnt id", async () => {
    const emulator = createTargetEmulator();
    emulator.seedProfile({ tntId: "1368007744041-575948.01_00" });
    await emulator.fetch(`${BASE}/m2/acme/profile/update?mboxPC=1368007744041-575948.01_00&profile.tier=gold`);
    expect(emulator.getProfile({ tntId: "1368007744041-575948.01_00" })?.attributes).toEqual({ tier: "gold" });
  });

  it("does not create unknown visitors, yet answers success", async () => {
    const emulator = createTargetEmulator();
    const response = await emulator.fetch(`${BASE}/m2/acme/profile/update?mbox3rdPartyId=ghost&profile.tier=gold`);
    expect(await response.text()).toBe(UPDATE_OK);
    expect(emulator.profiles()).toEqual([]);
  });

  it("ignores empty values and parameters without the profile. prefix", async () => {
    const emulator = createTargetEmulator();
    emulator.seedProfile({ thirdPartyId: "crm-1", attributes: { tier: "gold" } });
    await emulator.fetch(`${BASE}/m2/acme/profile/update?mbox3rdPartyId=crm-1&profile.tier=&city=Paris&profile.x=1`);
    expect(emulator.getProfile({ thirdPartyId: "crm-1" })?.attributes).toEqual({ tier: "gold", x: "1" });
  });

  it.each([
    ["no id", "profile.tier=gold"],
    ["both ids", "mbox3rdPartyId=a&mboxPC=b&profile.tier=gold"],
    ["the id twice", "mbox3rdPartyId=a&mbox3rdPartyId=b"],
    ["an empty id", "mbox3rdPartyId=&profile.tier=gold"],
    ["an id with an encoded +", "mbox3rdPartyId=a%2Bb&profile.tier=gold"],
    ["an id with /", "mbox3rdPartyId=a%2Fb&profile.tier=gold"],
    ["an id longer than 256 characters", `mbox3rdPartyId=${"i".repeat(257)}`],
    ["an attribute name longer than 128 characters", `mbox3rdPartyId=a&profile.${"n".repeat(129)}=1`],
  ])("refuses %s with 400", async (_, query) => {
    const emulator = createTargetEmulator();
    emulator.seedProfile({ thirdPartyId: "a" });
    const response = await emulator.fetch(`${BASE}/m2/acme/profile/update?${query}`);
    expect(response.status).toBe(400);
    expect(await response.text()).toMatch(/^<response><success>false<\/success><message>.+<\/message><\/response>$/);
    expect(emulator.getProfile({ thirdPartyId: "a" })?.attributes).toEqual({});
  });

  it("refuses a malformed % escape", async () => {
    const emulator = createTargetEmulator();
    const response = await emulator.fetch(`${BASE}/m2/acme/profile/update?mbox3rdPartyId=a&profile.tier=100%`);
    expect(response.status).toBe(400);
    expect(await response.text()).toContain("<message>Unexpected error</message>");
  });

  it("accepts a URL of 8,192 bytes and answers 414 at 8,193", async () => {
    const emulator = createTargetEmulator();
    emulator.seedProfile({ thirdPartyId: "crm-1" });
    const prefix = `${BASE}/m2/acme/profile/update?mbox3rdPartyId=crm-1&profile.pad=`;
    const fits = prefix + "x".repeat(8192 - prefix.length);
    expect(new Request(fits).url.length).toBe(8192);
    expect((await emulator.fetch(fits)).status).toBe(200);
    expect(emulator.getProfile({ thirdPartyId: "crm-1" })?.attributes.pad).toHaveLength(8192 - prefix.length);
    const response = await emulator.fetch(`${fits}y`);
    expect(response.status).toBe(414);
    expect(emulator.getProfile({ thirdPartyId: "crm-1" })?.attributes.pad).not.toContain("y");
  });

  it("accepts a POST body of 61,440 bytes and answers 413 at 61,441", async () => {
    const emulator = createTargetEmulator();
    emulator.seedProfile({ thirdPartyId: "crm-1" });
    const prefix = "mbox3rdPartyId=crm-1&profile.pad=";
    const fits = prefix + "x".repeat(61_440 - prefix.length);
    expect((await emulator.fetch(post("/m2/acme/profile/update", fits))).status).toBe(200);
    expect((await emulator.fetch(post("/m2/acme/profile/update", `${fits}x`))).status).toBe(413);
    expect(emulator.calls.map((call) => call.bodyBytes)).toEqual([61_440, 61_441]);
  });

  it("refuses a POST that is not a form", async () => {
    const emulator = createTargetEmulator();
    const response = await emulator.fetch(
      post("/m2/acme/profile/update", "mbox3rdPartyId=a", { "content-type": "text/plain" }),
    );
    expect(response.status).toBe(400);
  });
});

describe("profile fetch", () => {
  it("answers a profile by third party id with per-attribute modifiedAt", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.UTC(2024, 0, 1));
    const emulator = createTargetEmulator();
    emulator.seedProfile({ thirdPartyId: "crm-1", attributes: { tier: "silver", city: "Paris" } });
    vi.setSystemTime(Date.UTC(2024, 0, 2));
    await emulator.fetch(`${BASE}/m2/acme/profile/update?mbox3rdPartyId=crm-1&profile.tier=gold`);
    const response = await emulator.fetch(`${BASE}/rest/v1/profiles/thirdPartyId/crm-1?client=acme`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/json");
    expect(await response.json()).toEqual({
      client: "acme",
      visitorId: "crm-1",
      modifiedAt: "2024-01-02T00:00:00.000Z",
      profileAttributes: {
        tier: { value: "gold", modifiedAt: "2024-01-02T00:00:00.000Z" },
        city: { value: "Paris", modifiedAt: "2024-01-01T00:00:00.000Z" },
      },
    });
  });

  it("finds profiles by tnt id and by marketing cloud visitor id", async () => {
    const emulator = createTargetEmulator();
    emulator.seedProfile({ tntId: "tnt-1", marketingCloudVisitorId: "ecid-1", attributes: { a: "1" } });
    const byTnt = await (await emulator.fetch(`${BASE}/rest/v1/profiles/tnt-1?client=acme`)).json();
    const byEcid = await (
      await emulator.fetch(`${BASE}/rest/v1/profiles/marketingCloudVisitorId/ecid-1?client=acme`)
    ).json();
    expect(byTnt).toMatchObject({ visitorId: "tnt-1", profileAttributes: { a: { value: "1" } } });
    expect(byEcid).toMatchObject({ visitorId: "ecid-1", profileAttributes: { a: { value: "1" } } });
    expect(byTnt.modifiedAt).toMatch(ISO);
  });

  it("percent-decodes the id segment and keeps + literal", async () => {
    const emulator = createTargetEmulator();
    emulator.seedProfile({ thirdPartyId: "ü b+c", attributes: { a: "1" } });
    const response = await emulator.fetch(`${BASE}/rest/v1/profiles/thirdPartyId/%C3%BC%20b+c?client=acme`);
    expect(response.status).toBe(200);
    expect((await response.json()).visitorId).toBe("ü b+c");
  });

  it.each([
    ["thirdPartyId/crm-9", "third party id=crm-9"],
    ["tnt-9", "mboxPC=tnt-9"],
    ["marketingCloudVisitorId/ecid-9", "marketing cloud visitor id=ecid-9"],
  ])("answers 404 for an unknown %s", async (path, wording) => {
    const emulator = createTargetEmulator();
    const response = await emulator.fetch(`${BASE}/rest/v1/profiles/${path}?client=acme`);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ status: 404, message: `No profile found for client acme with ${wording}` });
  });

  it("requires the client parameter and, when configured, the right client code", async () => {
    const emulator = createTargetEmulator({ clientCode: "acme" });
    emulator.seedProfile({ thirdPartyId: "crm-1" });
    expect((await emulator.fetch(`${BASE}/rest/v1/profiles/thirdPartyId/crm-1`)).status).toBe(400);
    expect((await emulator.fetch(`${BASE}/rest/v1/profiles/thirdPartyId/crm-1?client=other`)).status).toBe(404);
    expect((await emulator.fetch(`${BASE}/rest/v1/profiles/thirdPartyId/crm-1?client=acme`)).status).toBe(200);
  });
});

describe("bulk update", () => {
  it("answers the documented submission XML with an edge-host status URL", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(1_701_473_848_678);
    const emulator = createTargetEmulator();
    const v2 = await submitBatch(emulator, "batch=thirdPartyId,tier\ncrm-1,gold");
    expect(v2.status).toBe(200);
    expect(v2.text).toBe(
      "<response><success>true</success><batchStatus>https://mboxedge45.tt.omtrdc.net/m2/acme/profile/batchStatus" +
        "?batchId=acme-1701473848678-1</batchStatus><message>Batch submitted for processing</message></response>",
    );
    const v1 = await submitBatch(createTargetEmulator({ edgeHost: "edge.example" }), "batch=pcId,tier\nx,1", 1);
    expect(v1.statusUrl).toMatch(/^https:\/\/edge\.example\/m2\/acme\/profile\/batchStatus\?batchId=acme-\d+-1$/);
  });

  it("v2 creates missing profiles; v1 only updates existing ones", async () => {
    const emulator = createTargetEmulator();
    emulator.seedProfile({ thirdPartyId: "known", attributes: { tier: "silver" } });
    const v2 = await submitBatch(emulator, "batch=thirdPartyId,tier\nnew-1,gold\nknown,gold");
    expect(emulator.getProfile({ thirdPartyId: "new-1" })?.attributes).toEqual({ tier: "gold" });
    expect(emulator.getProfile({ thirdPartyId: "known" })?.attributes).toEqual({ tier: "gold" });
    expect(await finalStatus(emulator, v2.statusUrl!)).toContain(
      "<batchSize>2</batchSize><consumedCount>2</consumedCount><successfulUpdates>2</successfulUpdates>" +
        "<profilesNotFound>0</profilesNotFound><failedUpdates>0</failedUpdates>",
    );

    const v1 = await submitBatch(emulator, "batch=thirdPartyId,tier\nnew-2,platinum\nknown,platinum", 1);
    expect(emulator.getProfile({ thirdPartyId: "new-2" })).toBeUndefined();
    expect(emulator.getProfile({ thirdPartyId: "known" })?.attributes).toEqual({ tier: "platinum" });
    expect(await finalStatus(emulator, v1.statusUrl!)).toContain(
      "<successfulUpdates>1</successfulUpdates><profilesNotFound>1</profilesNotFound><failedUpdates>0</failedUpdates>",
    );
  });

  it("gives a profile a batch makes a tnt id of its own, the same on every read and found by it", async () => {
    const emulator = createTargetEmulator();
    await submitBatch(emulator, "batch=thirdPartyId,tier\nnew-1,gold\nnew-2,gold");
    const [first, second] = [
      emulator.getProfile({ thirdPartyId: "new-1" }),
      emulator.getProfile({ thirdPartyId: "new-2" }),
    ];
    expect(first?.tntId).toMatch(/^\d+-\d{6}\.45_0$/);
    expect(second?.tntId).not.toBe(first?.tntId);
    expect(emulator.getProfile({ thirdPartyId: "new-1" })?.tntId).toBe(first?.tntId);
    expect(emulator.getProfile({ tntId: first!.tntId })).toEqual(first);
  });

  it("reads a body given as bytes as its own copy, as a Request copies it", async () => {
    const emulator = createTargetEmulator();
    const body = new TextEncoder().encode("batch=thirdPartyId,tier\ncrm-1,gold");
    const url = `${BASE}/m2/acme/v2/profile/batchUpdate`;
    expect((await emulator.fetch(url, { method: "POST", headers: FORM, body })).status).toBe(200);
    body.fill(0x78);
    expect(emulator.getProfile({ thirdPartyId: "crm-1" })?.attributes).toEqual({ tier: "gold" });
    expect(emulator.calls.at(-1)).toMatchObject({ operation: "batchUpdate", status: 200, bodyBytes: 34 });
  });

  it("applies a long batch in slices after answering, and the rest of it before anything reads", async () => {
    const emulator = createTargetEmulator({ pollsUntilComplete: 0 });
    const rows = Array.from({ length: 25_000 }, (_, index) => `crm-${index},gold`).join("\n");
    const { statusUrl } = await submitBatch(emulator, `batch=thirdPartyId,tier\n${rows}`);
    // A zero timeout applies the first slice; the next read applies the rest first.
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(await batchStatus(emulator, statusUrl!)).toContain(
      "<status>complete</status><batchSize>25000</batchSize><consumedCount>25000</consumedCount>" +
        "<successfulUpdates>25000</successfulUpdates>",
    );
    expect(emulator.getProfile({ thirdPartyId: "crm-24999" })?.attributes).toEqual({ tier: "gold" });
    expect(emulator.profiles()).toHaveLength(25_000);
  });

  it("keys pcId batches by tnt id", async () => {
    const emulator = createTargetEmulator();
    emulator.seedProfile({ tntId: "pc-1" });
    await submitBatch(emulator, "batch=pcId,tier\npc-1,gold\npc-2,silver");
    expect(emulator.getProfile({ tntId: "pc-1" })?.attributes).toEqual({ tier: "gold" });
    expect(emulator.getProfile({ tntId: "pc-2" })).toMatchObject({ tntId: "pc-2", attributes: { tier: "silver" } });
  });

  it("decodes + as a space and %XX as UTF-8 bytes, so encoded , and line breaks stay in the cell", async () => {
    const emulator = createTargetEmulator();
    await submitBatch(emulator, "batch=thirdPartyId,city,note%20name\ncrm-1,S%C3%A3o+Paulo,a%2Cb%0Ac%25");
    expect(emulator.getProfile({ thirdPartyId: "crm-1" })?.attributes).toEqual({
      city: "São Paulo",
      "note name": "a,b\nc%",
    });
  });

  it("ends the batch at the first raw &", async () => {
    const emulator = createTargetEmulator();
    const result = await submitBatch(emulator, "batch=thirdPartyId,tier\ncrm-1,gold\ncrm-2,R&D\ncrm-3,gold");
    expect(result.status).toBe(200);
    expect(emulator.getProfile({ thirdPartyId: "crm-1" })?.attributes).toEqual({ tier: "gold" });
    expect(emulator.getProfile({ thirdPartyId: "crm-2" })?.attributes).toEqual({ tier: "R" });
    expect(emulator.getProfile({ thirdPartyId: "crm-3" })).toBeUndefined();
  });

  it("fails the whole batch on a malformed %, with no batch id, in an HTTP 200 as documented", async () => {
    const emulator = createTargetEmulator();
    const result = await submitBatch(emulator, "batch=thirdPartyId,discount\ncrm-1,gold\ncrm-2,50%");
    expect(result.status).toBe(200);
    expect(result.text).toBe("<response><success>false</success><message>Unexpected error</message></response>");
    expect(emulator.profiles()).toEqual([]);
  });

  it.each([
    ["a % with one hex digit", "batch=thirdPartyId,a\ncrm-1,%4"],
    ["a % with non-hex digits", "batch=thirdPartyId,a\ncrm-1,%zz"],
    ["an escape that is not UTF-8", "batch=thirdPartyId,a\ncrm-1,%C3"],
    ["a malformed header", "batch=thirdPartyId,b%\ncrm-1,1"],
  ])("answers Unexpected error for %s", async (_, body) => {
    const result = await submitBatch(createTargetEmulator(), body);
    expect(result.status).toBe(200);
    expect(result.text).toContain("<message>Unexpected error</message>");
  });

  it("tolerates CRLF line breaks and a trailing line break", async () => {
    const emulator = createTargetEmulator();
    await submitBatch(emulator, "batch=thirdPartyId,tier\r\ncrm-1,gold\r\ncrm-2,silver\r\n");
    expect(emulator.getProfile({ thirdPartyId: "crm-1" })?.attributes).toEqual({ tier: "gold" });
    expect(emulator.getProfile({ thirdPartyId: "crm-2" })?.attributes).toEqual({ tier: "silver" });
  });

  it("ignores empty cells and skips rows holding only empty cells", async () => {
    const emulator = createTargetEmulator();
    emulator.seedProfile({ thirdPartyId: "crm-1", attributes: { tier: "gold", city: "Paris" } });
    const result = await submitBatch(emulator, "batch=thirdPartyId,tier,city\ncrm-1,,Lyon\n,,\ncrm-2,silver");
    expect(emulator.getProfile({ thirdPartyId: "crm-1" })?.attributes).toEqual({ tier: "gold", city: "Lyon" });
    expect(emulator.getProfile({ thirdPartyId: "crm-2" })?.attributes).toEqual({ tier: "silver" });
    expect(await finalStatus(emulator, result.statusUrl!)).toContain("<batchSize>2</batchSize>");
  });

  it("a row with no non-empty attribute cell updates nothing and creates no profile", async () => {
    const emulator = createTargetEmulator({ pollsUntilComplete: 0 });
    emulator.seedProfile({ thirdPartyId: "known", attributes: { tier: "gold" } });
    const result = await submitBatch(emulator, "batch=thirdPartyId,tier,city\nnew-1,,\nknown,,\nnew-2\nnew-3,silver,");
    expect(emulator.getProfile({ thirdPartyId: "new-1" })).toBeUndefined();
    expect(emulator.getProfile({ thirdPartyId: "new-2" })).toBeUndefined();
    expect(emulator.getProfile({ thirdPartyId: "known" })?.attributes).toEqual({ tier: "gold" });
    expect(emulator.getProfile({ thirdPartyId: "new-3" })?.attributes).toEqual({ tier: "silver" });
    // Skipped rows are not counted anywhere: one row was processed.
    expect(await batchStatus(emulator, result.statusUrl!)).toContain(
      "<status>complete</status><batchSize>1</batchSize><consumedCount>1</consumedCount><successfulUpdates>1</successfulUpdates>" +
        "<profilesNotFound>0</profilesNotFound><failedUpdates>0</failedUpdates></response>",
    );
  });

  it("skips a batch of only empty values: accepted, complete at the first check, every counter 0", async () => {
    const emulator = createTargetEmulator({ pollsUntilComplete: 3 });
    const result = await submitBatch(emulator, "batch=thirdPartyId,tier,city\ncrm-1,,\ncrm-2,,\n,,");
    expect(result.status).toBe(200);
    expect(result.text).toContain("<success>true</success>");
    const batchId = new URL(result.statusUrl!).searchParams.get("batchId");
    expect(await batchStatus(emulator, result.statusUrl!, false)).toBe(
      `<response><batchId>${batchId}</batchId><status>complete</status><batchSize>0</batchSize></response>`,
    );
    expect(await batchStatus(emulator, result.statusUrl!)).toContain(
      "<status>complete</status><batchSize>0</batchSize><consumedCount>0</consumedCount><successfulUpdates>0</successfulUpdates>" +
        "<profilesNotFound>0</profilesNotFound><failedUpdates>0</failedUpdates></response>",
    );
    expect(emulator.profiles()).toEqual([]);
  });

  it.each([
    ["a header and no row", "batch=thirdPartyId,tier"],
    ["a raw & in the header", "batch=thirdPartyId,R&D\ncrm-1,gold"],
  ])("answers Batch is empty (HTTP 200, success=false) to %s", async (_, body) => {
    const emulator = createTargetEmulator();
    const result = await submitBatch(emulator, body);
    expect(result.status).toBe(200);
    expect(result.text).toBe("<response><success>false</success><message>Batch is empty</message></response>");
    expect(emulator.profiles()).toEqual([]);
  });

  it.each([
    ["a body without batch=", "file=thirdPartyId,tier\ncrm-1,gold"],
    ["a first header other than thirdPartyId or pcId", "batch=id,tier\ncrm-1,gold"],
    ["an empty batch", "batch="],
    ["an empty attribute name", "batch=thirdPartyId,,tier\ncrm-1,a,b"],
    ["a row with more cells than the header", "batch=thirdPartyId,tier\ncrm-1,gold,extra"],
  ])("refuses %s", async (_, body) => {
    const emulator = createTargetEmulator();
    const result = await submitBatch(emulator, body);
    expect(result.status).toBe(400);
    expect(result.text).toMatch(/^<response><success>false<\/success><message>.+<\/message><\/response>$/);
    expect(emulator.profiles()).toEqual([]);
  });

  it("refuses a batch that is not a form post", async () => {
    const response = await createTargetEmulator().fetch(
      post("/m2/acme/v2/profile/batchUpdate", "batch=thirdPartyId,a\nx,1", { "content-type": "text/plain" }),
    );
    expect(response.status).toBe(400);
  });

  it("fails rows passed to failRows and lists them, XML-escaped, in the detailed status", async () => {
    const emulator = createTargetEmulator();
    emulator.failRows(["bad<&>'\"", "crm-3"]);
    const result = await submitBatch(
      emulator,
      "batch=thirdPartyId,tier\ncrm-1,gold\nbad%3C%26%3E'%22,gold\ncrm-3,gold\nbad%2Bid,gold",
    );
    expect(emulator.profiles().map((profile) => profile.thirdPartyId)).toEqual(["crm-1"]);
    expect(await finalStatus(emulator, result.statusUrl!)).toMatch(
      /<status>complete<\/status><batchSize>4<\/batchSize><consumedCount>4<\/consumedCount>/,
    );
    const details = await batchStatus(emulator, result.statusUrl!);
    expect(details).toContain(
      "<successfulUpdates>1</successfulUpdates><profilesNotFound>0</profilesNotFound><failedUpdates>3</failedUpdates>" +
        "<profile><id>bad&lt;&amp;&gt;&apos;&quot;</id><status>failed</status></profile>" +
        "<profile><id>crm-3</id><status>failed</status></profile>" +
        "<profile><id>bad+id</id><status>failed</status></profile></response>",
    );
  });

  it("fails rows of later batches only: a batch already accepted keeps its rows", async () => {
    const emulator = createTargetEmulator();
    const result = await submitBatch(emulator, "batch=thirdPartyId,tier\ncrm-1,gold");
    emulator.failRows(["crm-1"]);
    expect(emulator.getProfile({ thirdPartyId: "crm-1" })?.attributes).toEqual({ tier: "gold" });
    expect(await finalStatus(emulator, result.statusUrl!)).toContain("<failedUpdates>0</failedUpdates>");
  });

  it("refuses bodies of 50 MB and more", async () => {
    const header = "batch=thirdPartyId,note\n";
    const row = `crm-1,${"x".repeat(1000)}\n`;
    const count = Math.ceil((50 * 1024 * 1024 - header.length) / row.length);
    const body = (header + row.repeat(count)).slice(0, 50 * 1024 * 1024);
    const result = await submitBatch(createTargetEmulator(), body);
    expect(result.status).toBe(400);
    expect(result.text).toContain("50 MB");
  });

  it("accepts 500,000 rows and refuses 500,001", async () => {
    const emulator = createTargetEmulator();
    const rows = Array.from({ length: 500_000 }, (_, index) => `c-${index},v`).join("\n");
    const accepted = await submitBatch(emulator, `batch=thirdPartyId,a\n${rows}`, 1);
    expect(accepted.status).toBe(200);
    expect(await finalStatus(emulator, accepted.statusUrl!)).toContain(
      "<batchSize>500000</batchSize><consumedCount>500000</consumedCount><successfulUpdates>0</successfulUpdates>" +
        "<profilesNotFound>500000</profilesNotFound>",
    );
    const refused = await submitBatch(emulator, `batch=thirdPartyId,a\n${rows}\nlast,v`, 1);
    expect(refused.status).toBe(400);
    expect(refused.text).toContain("500000 rows");
  }, 60_000);
});

describe("batch status", () => {
  it("carries batchSize and lists failed rows in the default answer too, once complete", async () => {
    const emulator = createTargetEmulator({ pollsUntilComplete: 1 });
    emulator.failRows(["crm-2"]);
    const { statusUrl } = await submitBatch(emulator, "batch=thirdPartyId,tier\ncrm-1,gold\ncrm-2,gold");
    const batchId = new URL(statusUrl!).searchParams.get("batchId");
    expect(await batchStatus(emulator, statusUrl!, false)).toBe(
      `<response><batchId>${batchId}</batchId><status>incomplete</status><batchSize>2</batchSize></response>`,
    );
    expect(await batchStatus(emulator, statusUrl!, false)).toBe(
      `<response><batchId>${batchId}</batchId><status>complete</status><batchSize>2</batchSize>` +
        "<profile><id>crm-2</id><status>failed</status></profile></response>",
    );
  });

  it("answers incomplete pollsUntilComplete times, then complete", async () => {
    const emulator = createTargetEmulator({ pollsUntilComplete: 2 });
    const { statusUrl } = await submitBatch(emulator, "batch=thirdPartyId,tier\ncrm-1,gold");
    const batchId = new URL(statusUrl!).searchParams.get("batchId");
    expect(await batchStatus(emulator, statusUrl!, false)).toBe(
      `<response><batchId>${batchId}</batchId><status>incomplete</status><batchSize>1</batchSize></response>`,
    );
    expect(await batchStatus(emulator, statusUrl!)).toBe(
      `<response><batchId>${batchId}</batchId><status>incomplete</status><batchSize>1</batchSize>` +
        "<consumedCount>0</consumedCount><successfulUpdates>0</successfulUpdates><profilesNotFound>0</profilesNotFound>" +
        "<failedUpdates>0</failedUpdates></response>",
    );
    expect(await batchStatus(emulator, statusUrl!, false)).toBe(
      `<response><batchId>${batchId}</batchId><status>complete</status><batchSize>1</batchSize></response>`,
    );
  });

  it("answers on either status path (the v2 one of older answers, with m2Node) and 404 for an unknown batch id", async () => {
    const emulator = createTargetEmulator({ pollsUntilComplete: 0 });
    const { statusUrl } = await submitBatch(emulator, "batch=thirdPartyId,tier\ncrm-1,gold");
    expect(statusUrl).toContain("/m2/acme/profile/batchStatus?");
    expect(await batchStatus(emulator, statusUrl!, false)).toContain("<status>complete</status>");
    const v2Url = `${statusUrl!.replace("/m2/acme/profile/", "/m2/acme/v2/profile/")}&m2Node=00`;
    expect(v2Url).toMatch(
      /^https:\/\/mboxedge45\.tt\.omtrdc\.net\/m2\/acme\/v2\/profile\/batchStatus\?batchId=acme-.+&m2Node=00$/,
    );
    expect(await batchStatus(emulator, v2Url)).toContain("<status>complete</status><batchSize>1</batchSize>");
    const unknown = await emulator.fetch(`${BASE}/m2/acme/profile/batchStatus?batchId=acme-1-999`);
    expect(unknown.status).toBe(404);
    expect(await unknown.text()).toMatch(/^<response><success>false<\/success>/);
  });

  it("forgets batches after about 24 hours", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const emulator = createTargetEmulator({ pollsUntilComplete: 0 });
    const { statusUrl } = await submitBatch(emulator, "batch=thirdPartyId,tier\ncrm-1,gold");
    vi.advanceTimersByTime(24 * 60 * 60 * 1000);
    expect((await emulator.fetch(statusUrl!)).status).toBe(200);
    vi.advanceTimersByTime(1);
    expect((await emulator.fetch(statusUrl!)).status).toBe(404);
  });
});

describe("bulk call rate limit", () => {
  it("answers 503 to the 51st bulk call in a rolling minute and counts only accepted calls", async () => {
    vi.useFakeTimers();
    vi.setSystemTime(Date.UTC(2024, 0, 1));
    const emulator = createTargetEmulator({ pollsUntilComplete: 0 });
    const { statusUrl } = await submitBatch(emulator, "batch=thirdPartyId,tier\ncrm-1,gold");
    for (let call = 2; call <= 50; call++) {
      vi.advanceTimersByTime(1000);
      expect((await emulator.fetch(statusUrl!)).status).toBe(200);
    }
    // Single updates and fetches do not count.
    expect((await emulator.fetch(`${BASE}/m2/acme/profile/update?mbox3rdPartyId=crm-1&profile.a=1`)).status).toBe(200);
    const refused = await emulator.fetch(statusUrl!);
    expect(refused.status).toBe(503);
    expect(await refused.text()).toMatch(/^<response><success>false<\/success>/);
    expect((await submitBatch(emulator, "batch=thirdPartyId,tier\ncrm-2,gold")).status).toBe(503);
    expect(emulator.getProfile({ thirdPartyId: "crm-2" })).toBeUndefined();

    // The first call leaves the window 60 s after it was made; the refused calls never entered it.
    vi.setSystemTime(Date.UTC(2024, 0, 1) + 59_999);
    expect((await emulator.fetch(statusUrl!)).status).toBe(503);
    vi.setSystemTime(Date.UTC(2024, 0, 1) + 60_000);
    expect((await emulator.fetch(statusUrl!)).status).toBe(200);
    expect((await emulator.fetch(statusUrl!)).status).toBe(503);
  });

  it("honours bulkCallsPerMinute", async () => {
    const emulator = createTargetEmulator({ bulkCallsPerMinute: 1 });
    expect((await submitBatch(emulator, "batch=thirdPartyId,a\nx,1")).status).toBe(200);
    expect((await submitBatch(emulator, "batch=thirdPartyId,a\nx,1")).status).toBe(503);
  });
});

describe("authentication and routing", () => {
  it("requires the bearer token on every route when configured", async () => {
    const emulator = createTargetEmulator({ token: "s3cret" });
    emulator.seedProfile({ thirdPartyId: "crm-1" });
    const url = `${BASE}/rest/v1/profiles/thirdPartyId/crm-1?client=acme`;
    for (const headers of [{}, { authorization: "Bearer wrong" }, { authorization: "Basic s3cret" }]) {
      const response = await emulator.fetch(url, { headers });
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({ status: 401, message: "Unauthorized" });
    }
    expect((await emulator.fetch(url, { headers: { authorization: "Bearer s3cret" } })).status).toBe(200);
    const batch = post("/m2/acme/v2/profile/batchUpdate", "batch=thirdPartyId,a\nx,1");
    expect((await emulator.fetch(batch)).status).toBe(401);
    expect(emulator.getProfile({ thirdPartyId: "x" })).toBeUndefined();
    // Checked before routing: an unauthenticated caller learns nothing about paths.
    expect((await emulator.fetch(`${BASE}/nowhere`)).status).toBe(401);
  });

  it("answers 404 to unknown paths and 405 to wrong methods", async () => {
    const emulator = createTargetEmulator();
    expect((await emulator.fetch(`${BASE}/m2/acme/profile/unknown`)).status).toBe(404);
    expect((await emulator.fetch(`${BASE}/rest/v1/profiles/thirdPartyId/a/b?client=acme`)).status).toBe(404);
    const wrongMethod = await emulator.fetch(`${BASE}/m2/acme/v2/profile/batchUpdate`);
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get("allow")).toBe("POST");
    expect((await emulator.fetch(`${BASE}/m2/acme/profile/update`, { method: "PUT" })).status).toBe(405);
  });

  it("answers 404 for another client code when one is configured", async () => {
    const emulator = createTargetEmulator({ clientCode: "acme" });
    emulator.seedProfile({ thirdPartyId: "crm-1" });
    const response = await emulator.fetch(`${BASE}/m2/other/profile/update?mbox3rdPartyId=crm-1&profile.a=1`);
    expect(response.status).toBe(404);
    expect(emulator.getProfile({ thirdPartyId: "crm-1" })?.attributes).toEqual({});
  });

  it("accepts any host", async () => {
    const emulator = createTargetEmulator();
    const response = await emulator.fetch("https://mboxedge31.tt.omtrdc.net/m2/acme/profile/update?mboxPC=x");
    expect(await response.text()).toBe(UPDATE_OK);
  });
});

describe("faults", () => {
  it("answers an injected status for the next `times` calls, then behaves", async () => {
    const emulator = createTargetEmulator();
    emulator.injectFaults({ status: 502, body: "bad gateway", headers: { "retry-after": "1" }, times: 2 });
    const url = `${BASE}/m2/acme/profile/update?mboxPC=x`;
    const first = await emulator.fetch(url);
    expect(first.status).toBe(502);
    expect(first.headers.get("retry-after")).toBe("1");
    expect(await first.text()).toBe("bad gateway");
    expect((await emulator.fetch(url)).status).toBe(502);
    expect((await emulator.fetch(url)).status).toBe(200);
    expect(emulator.calls.map((call) => call.status)).toEqual([502, 502, 200]);
  });

  it("applies faults before authentication", async () => {
    const emulator = createTargetEmulator({ token: "t" });
    emulator.injectFaults({ status: 500 });
    expect((await emulator.fetch(`${BASE}/m2/acme/profile/update?mboxPC=x`)).status).toBe(500);
  });

  it("limits faults to the given operations", async () => {
    const emulator = createTargetEmulator();
    emulator.injectFaults({ status: 503, operations: ["batchUpdate"] });
    expect((await emulator.fetch(`${BASE}/m2/acme/profile/update?mboxPC=x`)).status).toBe(200);
    expect((await submitBatch(emulator, "batch=thirdPartyId,a\nx,1")).status).toBe(503);
    expect(emulator.getProfile({ thirdPartyId: "x" })).toBeUndefined();
    expect((await submitBatch(emulator, "batch=thirdPartyId,a\nx,1")).status).toBe(200);
  });

  it("drops the connection like fetch does", async () => {
    const emulator = createTargetEmulator();
    emulator.injectFaults({ disconnect: true });
    const error = await emulator.fetch(post("/m2/acme/v2/profile/batchUpdate", "batch=thirdPartyId,a\nx,1")).then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(error).toBeInstanceOf(TypeError);
    expect((error as TypeError).message).toBe("fetch failed");
    expect(emulator.getProfile({ thirdPartyId: "x" })).toBeUndefined();
    expect(emulator.calls).toEqual([
      {
        operation: "batchUpdate",
        method: "POST",
        status: 0,
        url: `${BASE}/m2/acme/v2/profile/batchUpdate`,
        bodyBytes: 24,
      },
    ]);
  });

  it("delays the answer by delayMs", async () => {
    vi.useFakeTimers();
    const emulator = createTargetEmulator();
    emulator.injectFaults({ delayMs: 1000 });
    let settled = false;
    const pending = emulator.fetch(`${BASE}/m2/acme/profile/update?mboxPC=x`).finally(() => {
      settled = true;
    });
    await vi.advanceTimersByTimeAsync(999);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect((await pending).status).toBe(200);
  });

  it("rejects a delayed call with the abort reason, without applying it", async () => {
    const emulator = createTargetEmulator();
    emulator.seedProfile({ thirdPartyId: "crm-1" });
    emulator.injectFaults({ delayMs: 60_000 });
    const controller = new AbortController();
    const pending = emulator.fetch(`${BASE}/m2/acme/profile/update?mbox3rdPartyId=crm-1&profile.a=1`, {
      signal: controller.signal,
    });
    const reason = new Error("client timeout");
    setTimeout(() => controller.abort(reason), 5);
    await expect(pending).rejects.toBe(reason);
    expect(emulator.getProfile({ thirdPartyId: "crm-1" })?.attributes).toEqual({});
  });

  it("rejects at once when the signal is already aborted", async () => {
    const emulator = createTargetEmulator();
    const reason = new Error("gone");
    await expect(
      emulator.fetch(`${BASE}/m2/acme/profile/update?mboxPC=x`, { signal: AbortSignal.abort(reason) }),
    ).rejects.toBe(reason);
  });
});

describe("state", () => {
  it("records every call", async () => {
    const emulator = createTargetEmulator();
    await emulator.fetch(`${BASE}/m2/acme/profile/update?mboxPC=x`);
    await emulator.fetch(post("/m2/acme/v2/profile/batchUpdate", "batch=pcId,a\nx,1"));
    await emulator.fetch(`${BASE}/elsewhere`);
    expect(emulator.calls).toEqual([
      { operation: "update", method: "GET", status: 200, url: `${BASE}/m2/acme/profile/update?mboxPC=x`, bodyBytes: 0 },
      {
        operation: "batchUpdate",
        method: "POST",
        status: 200,
        url: `${BASE}/m2/acme/v2/profile/batchUpdate`,
        bodyBytes: 16,
      },
      { method: "GET", status: 404, url: `${BASE}/elsewhere`, bodyBytes: 0 },
    ]);
  });

  it("seeds, merges and lists profiles", () => {
    const emulator = createTargetEmulator();
    emulator.seedProfile({ thirdPartyId: "crm-1", attributes: { a: "1" } });
    emulator.seedProfile({ thirdPartyId: "crm-1", marketingCloudVisitorId: "ecid-1", attributes: { b: "2" } });
    const profile = emulator.getProfile({ marketingCloudVisitorId: "ecid-1" });
    expect(profile).toMatchObject({
      thirdPartyId: "crm-1",
      marketingCloudVisitorId: "ecid-1",
      attributes: { a: "1", b: "2" },
    });
    expect(profile?.tntId).toEqual(expect.any(String));
    expect(profile?.modifiedAt).toMatch(ISO);
    expect(emulator.getProfile({ tntId: profile!.tntId })).toEqual(profile);
    expect(emulator.profiles()).toEqual([profile]);
    expect(() => emulator.seedProfile({ thirdPartyId: "crm-1", marketingCloudVisitorId: "ecid-2" })).toThrow(TypeError);
  });

  it("resets everything", async () => {
    const emulator = createTargetEmulator({ bulkCallsPerMinute: 1 });
    emulator.seedProfile({ thirdPartyId: "crm-1" });
    const { statusUrl } = await submitBatch(emulator, "batch=thirdPartyId,a\nx,1");
    emulator.injectFaults({ status: 500, times: 5 });
    const calls = emulator.calls;
    emulator.reset();
    expect(emulator.profiles()).toEqual([]);
    expect(calls).toHaveLength(0);
    expect((await emulator.fetch(statusUrl!)).status).toBe(404);
  });
});
