import { describe, expect, it, vi } from "vitest";
import {
  createRelayClient,
  isTargetRelayError,
  isTargetValidationError,
  type RelayClientOptions,
} from "../../../src/index.js";
import { handleRequest } from "../../../worker/http/handle-request.js";
import { envWith, fakeTarget, READ_KEY, RELAY, send, WRITE_KEY } from "../helpers.js";
import { queuedBindings } from "../queue-helpers.js";

/** A relay client whose fetch goes straight into the Worker's default export. */
const relay = (apiKey: string, options: Partial<RelayClientOptions> = {}) =>
  createRelayClient({ url: RELAY, apiKey, fetch: (request) => send(request), ...options });

async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a failure");
}

describe("createRelayClient against the Worker", () => {
  it("updateProfile sends one update, and getProfile reads it back with a read key", async () => {
    const { emulator } = fakeTarget();
    emulator.seedProfile({ thirdPartyId: "crm-c1" });

    const result = await relay(WRITE_KEY).updateProfile({
      mbox3rdPartyId: "crm-c1",
      attributes: { tier: "gold", ltv: 1200 },
    });
    const profile = await relay(READ_KEY).getProfile("crm-c1");

    expect(result).toEqual({ requestId: expect.any(String), via: "single-update" });
    expect(profile).toEqual({
      mbox3rdPartyId: "crm-c1",
      modifiedAt: expect.any(String),
      attributes: { tier: "gold", ltv: "1200" },
    });
  });

  it("updateProfiles sends one batch, and getBatch follows it", async () => {
    const { emulator } = fakeTarget({ pollsUntilComplete: 0 });
    const client = relay(WRITE_KEY);

    const submitted = await client.updateProfiles(
      new Set([
        { mbox3rdPartyId: "crm-c2", attributes: { tier: "gold" } },
        { mbox3rdPartyId: "crm-c3", attributes: { tier: "silver" } },
      ]),
    );
    const status = await client.getBatch(submitted.batchId as string);

    expect(submitted).toEqual({ requestId: expect.any(String), batchId: expect.any(String), rows: 2 });
    expect(status).toEqual({
      batchId: submitted.batchId,
      status: "complete",
      batchSize: 2,
      consumedCount: 2,
      successfulUpdates: 2,
      profilesNotFound: 0,
      failedUpdates: 0,
      failedIds: [],
    });
    expect(emulator.getProfile({ thirdPartyId: "crm-c3" })?.attributes).toEqual({ tier: "silver" });
  });

  it("takes the queued answers of a relay that queues its deliveries", async () => {
    const { sent } = fakeTarget();
    const { bindings, updates, deliveries } = queuedBindings();
    const client = relay(WRITE_KEY, { fetch: (request) => handleRequest(request, bindings) });

    const single = await client.updateProfile({ mbox3rdPartyId: "crm-q1", attributes: { tier: "gold" } });
    const batch = await client.updateProfiles([
      { mbox3rdPartyId: "crm-q2", attributes: { tier: "gold" } },
      { mbox3rdPartyId: "crm-q2", attributes: { ltv: 5 } },
    ]);

    expect(single).toEqual({ requestId: expect.any(String), queued: 1, via: "queued" });
    expect(batch).toEqual({ requestId: expect.any(String), rows: 1, queued: 2 });
    expect([updates.sent.length, deliveries.sent.length, sent.length]).toEqual([1, 1, 0]);
  });

  it("getProfile answers undefined when Target has no such profile", async () => {
    fakeTarget();

    expect(await relay(READ_KEY).getProfile("crm-nobody")).toBeUndefined();
  });

  it("refuses locally, with the core's rules, what the relay would refuse: nothing is sent", async () => {
    const fetch = vi.fn((request: Request) => send(request));
    const client = relay(WRITE_KEY, { fetch });

    const empty = await failure(client.updateProfile({ mbox3rdPartyId: "crm-1", attributes: { tier: "" } }));
    const byPcId = await failure(
      client.updateProfile({ mboxPC: "1368007744041-575948.01_00", attributes: { tier: "gold" } } as never),
    );
    const badRow = await failure(
      client.updateProfiles([
        { mbox3rdPartyId: "crm-1", attributes: { tier: "gold" } },
        { mbox3rdPartyId: "a/b", attributes: { tier: "gold" } },
      ]),
    );

    expect(isTargetValidationError(empty) && empty.issues[0]?.path).toBe("attributes.tier");
    expect(isTargetValidationError(byPcId) && byPcId.issues[0]?.message).toBe(
      "the relay takes updates keyed by mbox3rdPartyId",
    );
    expect(isTargetValidationError(badRow) && badRow.issues[0]?.path).toBe("updates[1].mbox3rdPartyId");
    expect(fetch).not.toHaveBeenCalled();
  });

  it("maps the relay's refusals to TargetRelayError with status, code and field", async () => {
    fakeTarget();
    const listed = envWith({ RELAY_ALLOWED_ATTRIBUTES: ["tier"] });

    const forbidden = await failure(relay(WRITE_KEY).getProfile("crm-1"));
    const unauthorized = await failure(
      relay("not-a-key-0123456789abcdefghijklmn").updateProfile({
        mbox3rdPartyId: "crm-1",
        attributes: { tier: "gold" },
      }),
    );
    const notAllowed = await failure(
      relay(WRITE_KEY, { fetch: (request) => handleRequest(request, listed) }).updateProfile({
        mbox3rdPartyId: "crm-1",
        attributes: { ssn: "x" },
      }),
    );

    expect(isTargetRelayError(forbidden) && [forbidden.status, forbidden.code, forbidden.field]).toEqual([
      403,
      "forbidden",
      undefined,
    ]);
    expect(isTargetRelayError(unauthorized) && [unauthorized.status, unauthorized.code]).toEqual([401, "unauthorized"]);
    expect(isTargetRelayError(notAllowed) && [notAllowed.status, notAllowed.code, notAllowed.field]).toEqual([
      400,
      "attribute_not_allowed",
      "attributes.ssn",
    ]);
  });

  it("reports Retry-After on a 429", async () => {
    fakeTarget();
    const limited = envWith({ RELAY_RATE_LIMIT: { limit: async () => ({ success: false }) } });

    const error = await failure(
      relay(WRITE_KEY, { fetch: (request) => handleRequest(request, limited) }).getBatch("acme-1-1"),
    );

    expect(isTargetRelayError(error) && [error.status, error.code, error.retryAfter]).toEqual([
      429,
      "rate_limited",
      60,
    ]);
  });

  it("signs its requests when given a signing secret, which the relay checks", async () => {
    const { emulator } = fakeTarget();
    emulator.seedProfile({ thirdPartyId: "crm-c4" });
    const secret = "client-signing-secret-0123456789abcdef";
    const signing = envWith({ RELAY_SIGNING_SECRETS: JSON.stringify([secret]) });
    const into = { fetch: (request: Request) => handleRequest(request, signing) };

    const signed = await relay(WRITE_KEY, { ...into, signingSecret: secret }).updateProfile({
      mbox3rdPartyId: "crm-c4",
      attributes: { tier: "gold" },
    });
    const read = await relay(READ_KEY, { ...into, signingSecret: secret }).getProfile("crm-c4");
    const wrongSecret = await failure(
      relay(WRITE_KEY, { ...into, signingSecret: "another-secret" }).updateProfile({
        mbox3rdPartyId: "crm-c4",
        attributes: { tier: "x" },
      }),
    );
    const unsigned = await failure(
      relay(WRITE_KEY, into).updateProfile({ mbox3rdPartyId: "crm-c4", attributes: { tier: "x" } }),
    );

    expect(signed.requestId).toEqual(expect.any(String));
    expect(read?.attributes).toEqual({ tier: "gold" });
    for (const error of [wrongSecret, unsigned]) {
      expect(isTargetRelayError(error) && [error.status, error.code]).toEqual([401, "invalid_signature"]);
    }
  });
});
