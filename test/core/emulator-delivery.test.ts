import { afterEach, describe, expect, it, vi } from "vitest";
import { createTargetEmulator, type TargetEmulator } from "../../src/emulator/index.js";

// The emulator's Delivery API, driven by raw requests built by hand, so that it checks the client
// rather than trusting it.
const BASE = "https://acme.tt.omtrdc.net";
const JSON_TYPE = { "content-type": "application/json" };

interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

function deliveryBody(id: Record<string, unknown>, parameters: Record<string, unknown>[]): Record<string, unknown> {
  return {
    context: { channel: "web" },
    id,
    execute: {
      mboxes: parameters.map((profileParameters, index) => ({
        index: index + 1,
        name: "target-profile-sync",
        profileParameters,
      })),
    },
  };
}

async function deliver(
  emulator: TargetEmulator,
  body: unknown,
  { sessionId = "session-1", host = BASE, headers = JSON_TYPE as Record<string, string>, client = "acme" } = {},
): Promise<Answer> {
  const response = await emulator.fetch(
    new Request(`${host}/rest/v1/delivery?client=${client}&sessionId=${encodeURIComponent(sessionId)}`, {
      method: "POST",
      headers,
      body: typeof body === "string" ? body : JSON.stringify(body),
    }),
  );
  expect(response.headers.get("content-type")).toBe("application/json");
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("the emulator's Delivery API", () => {
  it("creates an unknown visitor's profile, with a tnt id carrying the edge's location hint, visible at once", async () => {
    const emulator = createTargetEmulator({ clientCode: "acme" });
    const { status, body } = await deliver(emulator, deliveryBody({ thirdPartyId: "crm-1" }, [{ tier: "gold" }]));

    expect(status).toBe(200);
    expect(body).toMatchObject({
      status: 200,
      client: "acme",
      edgeHost: "mboxedge45.tt.omtrdc.net",
      id: { thirdPartyId: "crm-1", tntId: expect.stringMatching(/\.45_0$/) },
      execute: { mboxes: [{ index: 1, name: "target-profile-sync" }] },
    });
    expect(body["requestId"]).toEqual(expect.any(String));
    const stored = emulator.getProfile({ thirdPartyId: "crm-1" });
    expect(stored?.attributes).toEqual({ tier: "gold" });
    expect(stored?.tntId).toBe((body["id"] as { tntId: string }).tntId);
    // A profile fetch sees the value at once.
    const fetched = await emulator.fetch(`${BASE}/rest/v1/profiles/thirdPartyId/crm-1?client=acme`);
    expect(((await fetched.json()) as { profileAttributes: Record<string, unknown> }).profileAttributes).toMatchObject({
      tier: { value: "gold" },
    });
  });

  it("updates the profile a known id names, by third-party id or tnt id, and takes the request id given", async () => {
    const emulator = createTargetEmulator({ edgeHost: "mboxedge28.tt.omtrdc.net" });
    emulator.seedProfile({ thirdPartyId: "crm-1", tntId: "a1b2.28_0", attributes: { tier: "silver", city: "Lyon" } });
    await deliver(emulator, deliveryBody({ thirdPartyId: "crm-1" }, [{ tier: "gold" }]));
    const byTntId = await deliver(emulator, {
      ...deliveryBody({ tntId: "a1b2.28_0" }, [{ city: "Paris" }]),
      requestId: "r-7",
    });

    expect(byTntId.body).toMatchObject({
      requestId: "r-7",
      id: { tntId: "a1b2.28_0" },
      edgeHost: "mboxedge28.tt.omtrdc.net",
    });
    expect(emulator.profiles()).toHaveLength(1);
    expect(emulator.getProfile({ tntId: "a1b2.28_0" })?.attributes).toEqual({ tier: "gold", city: "Paris" });
  });

  it("accepts calls on its edge host, and needs no token even when the Profile APIs require one", async () => {
    const emulator = createTargetEmulator({ token: "secret" });
    const { status } = await deliver(emulator, deliveryBody({ thirdPartyId: "crm-1" }, [{ tier: "gold" }]), {
      host: "https://mboxedge45.tt.omtrdc.net",
    });
    expect(status).toBe(200);
    expect(emulator.getProfile({ thirdPartyId: "crm-1" })?.attributes).toEqual({ tier: "gold" });
  });

  it("served over HTTP (statusUrls: request), names the host it was called on as the edge host", async () => {
    const emulator = createTargetEmulator({ statusUrls: "request" });
    const { body } = await deliver(emulator, deliveryBody({ thirdPartyId: "crm-1" }, [{ tier: "gold" }]), {
      host: "http://127.0.0.1:8080",
    });
    expect(body["edgeHost"]).toBe("127.0.0.1:8080");
  });

  it("counts one billed call per executed mbox", async () => {
    const emulator = createTargetEmulator();
    await deliver(emulator, deliveryBody({ thirdPartyId: "crm-1" }, [{ a: "1" }, { b: "2" }, { c: "3" }]));
    await deliver(emulator, deliveryBody({ thirdPartyId: "crm-2" }, [{ a: "1" }]), { sessionId: "session-2" });
    expect(emulator.deliveryStats().billedCalls).toBe(4);
    expect(emulator.calls.map((call) => call.operation)).toEqual(["delivery", "delivery"]);
  });

  it.each([
    ["a missing context", { id: { thirdPartyId: "crm-1" } }, "context.channel"],
    ["an unknown channel", { context: { channel: "tv" } }, "context.channel"],
    [
      "51 profile parameters",
      deliveryBody({ thirdPartyId: "x" }, [Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`a${i}`, "v"]))]),
      "cannot exceed 50",
    ],
    ["a value of 257 characters", deliveryBody({ thirdPartyId: "x" }, [{ a: "v".repeat(257) }]), "at most 256"],
    ["a number value", deliveryBody({ thirdPartyId: "x" }, [{ a: 1 }]), "must be strings"],
    ["a null value", deliveryBody({ thirdPartyId: "x" }, [{ a: null }]), "must be strings"],
    ["a profile.-prefixed name", deliveryBody({ thirdPartyId: "x" }, [{ "profile.a": "1" }]), "profile."],
    ["a name of 129 characters", deliveryBody({ thirdPartyId: "x" }, [{ ["n".repeat(129)]: "1" }]), "at most 128"],
    [
      "a thirdPartyId of 257 characters",
      deliveryBody({ thirdPartyId: "i".repeat(257) }, [{ a: "1" }]),
      "id.thirdPartyId",
    ],
    ["a tntId of 129 characters", deliveryBody({ tntId: "t".repeat(129) }, [{ a: "1" }]), "id.tntId"],
    ["a tntId with two dots", deliveryBody({ tntId: "a.b.28_0" }, [{ a: "1" }]), "id.tntId"],
    [
      "two mboxes of one index",
      {
        context: { channel: "web" },
        execute: {
          mboxes: [
            { index: 1, name: "m" },
            { index: 1, name: "m" },
          ],
        },
      },
      "unique",
    ],
    ["a blank mbox name", { context: { channel: "web" }, execute: { mboxes: [{ index: 1, name: " " }] } }, "mbox name"],
    [
      "an empty property token",
      { ...deliveryBody({ thirdPartyId: "x" }, [{ a: "1" }]), property: { token: "" } },
      "property token",
    ],
    ["a body that is not JSON", "{", "not valid JSON"],
  ])("answers 400 { status, message } to %s, and stores nothing", async (_, body, message) => {
    const emulator = createTargetEmulator();
    const { status, body: answer } = await deliver(emulator, body);
    expect(status).toBe(400);
    expect(answer).toEqual({ status: 400, message: expect.stringContaining(message) });
    expect(emulator.profiles()).toEqual([]);
    expect(emulator.deliveryStats().billedCalls).toBe(0);
  });

  it.each([
    ["a space", "a b"],
    ["a '?'", "a?b"],
    ["a '/'", "a/b"],
    ["a '{'", "a{b"],
    ["129 characters", "s".repeat(129)],
    ["nothing", ""],
  ])("refuses a sessionId with %s", async (_, sessionId) => {
    const emulator = createTargetEmulator();
    const { status, body } = await deliver(emulator, deliveryBody({ thirdPartyId: "x" }, [{ a: "1" }]), { sessionId });
    expect(status).toBe(400);
    expect(body["message"]).toMatch(/sessionId/);
  });

  it("answers 405 to a GET, 415 to another content type, 404 to another client", async () => {
    const emulator = createTargetEmulator({ clientCode: "acme" });
    const get = await emulator.fetch(`${BASE}/rest/v1/delivery?client=acme&sessionId=s`);
    expect(get.status).toBe(405);
    const form = await deliver(emulator, deliveryBody({ thirdPartyId: "x" }, [{ a: "1" }]), {
      headers: { "content-type": "text/plain" },
    });
    expect(form.status).toBe(415);
    const other = await deliver(emulator, deliveryBody({ thirdPartyId: "x" }, [{ a: "1" }]), { client: "other" });
    expect(other.status).toBe(404);
  });

  it("counts visitors whose sessionId changed within 30 minutes of their last call, and sessions two visitors shared", async () => {
    let now = Date.parse("2026-03-01T10:00:00Z");
    const emulator = createTargetEmulator({ now: () => now });
    const write = (id: string, sessionId: string) =>
      deliver(emulator, deliveryBody({ thirdPartyId: id }, [{ a: "1" }]), { sessionId });

    await write("crm-1", "s-1");
    await write("crm-1", "s-1");
    expect(emulator.deliveryStats()).toMatchObject({ sessionSwitches: 0, sharedSessions: 0 });

    now += 29 * 60_000;
    await write("crm-1", "s-2"); // within 30 minutes of the last call: a switch
    now += 31 * 60_000;
    await write("crm-1", "s-3"); // the session had ended: a new one is fine
    expect(emulator.deliveryStats().sessionSwitches).toBe(1);

    await write("crm-2", "s-3"); // s-3 still serves crm-1
    expect(emulator.deliveryStats().sharedSessions).toBe(1);

    emulator.reset();
    expect(emulator.deliveryStats()).toEqual({
      billedCalls: 0,
      sessionSwitches: 0,
      sharedSessions: 0,
      maxConcurrentRequests: 0,
    });
  });

  it("answers 420 past 100 concurrent requests of one session, and counts the most in flight", async () => {
    const emulator = createTargetEmulator();
    emulator.injectFaults({ times: 100, delayMs: 20, operations: ["delivery"] });
    const answers = await Promise.all(
      Array.from({ length: 101 }, (_, index) =>
        deliver(emulator, deliveryBody({ thirdPartyId: "crm-1" }, [{ n: String(index) }]), { sessionId: "busy" }),
      ),
    );
    const refused = answers.filter(({ status }) => status === 420);
    expect(refused).toHaveLength(1);
    expect(refused[0]?.body).toEqual({ status: 420, message: "Too many requests with same session ID" });
    expect(answers.filter(({ status }) => status === 200)).toHaveLength(100);
    expect(emulator.deliveryStats().maxConcurrentRequests).toBe(100);

    // Once they are answered, the session takes calls again.
    const after = await deliver(emulator, deliveryBody({ thirdPartyId: "crm-1" }, [{ n: "last" }]), {
      sessionId: "busy",
    });
    expect(after.status).toBe(200);
  });
});
