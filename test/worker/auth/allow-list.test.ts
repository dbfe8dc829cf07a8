import { describe, expect, it } from "vitest";
import { handleRequest } from "../../../worker/http/handle-request.js";
import { envWith, errorOf, fakeTarget, post } from "../helpers.js";

describe("RELAY_ALLOWED_ATTRIBUTES", () => {
  const listed = envWith({ RELAY_ALLOWED_ATTRIBUTES: ["tier", "ltv"] });

  it("forwards listed attributes", async () => {
    const { emulator } = fakeTarget();
    emulator.seedProfile({ thirdPartyId: "crm-al" });

    const response = await handleRequest(post("/v1/profiles/crm-al", { attributes: { tier: "gold", ltv: 5 } }), listed);

    expect(response.status).toBe(202);
    expect(emulator.getProfile({ thirdPartyId: "crm-al" })?.attributes).toEqual({ tier: "gold", ltv: "5" });
  });

  it("refuses others with 400, naming them (null-valued ones too), and sends nothing", async () => {
    const { sent } = fakeTarget();

    const response = await handleRequest(
      post("/v1/profiles/crm-al", { attributes: { tier: "gold", ssn: "078-05-1120", dob: null } }),
      listed,
    );

    expect(response.status).toBe(400);
    expect(await errorOf(response)).toEqual({
      code: "attribute_not_allowed",
      message: 'attributes not allowed by this relay: "ssn", "dob"',
      field: "attributes.ssn",
    });
    expect(sent).toEqual([]);
  });

  it("names the first refused attribute's row in a batch", async () => {
    const { sent } = fakeTarget();
    const updates = [
      { mbox3rdPartyId: "crm-1", attributes: { tier: "gold" } },
      { mbox3rdPartyId: "crm-2", attributes: { "credit score": 700 } },
    ];

    const response = await handleRequest(post("/v1/profiles", { updates }), listed);

    expect(response.status).toBe(400);
    expect(await errorOf(response)).toMatchObject({
      code: "attribute_not_allowed",
      field: 'updates[1].attributes["credit score"]',
    });
    expect(sent).toEqual([]);
  });

  it("takes a comma-separated list too (a var set outside wrangler.toml)", async () => {
    fakeTarget();
    const commaSeparated = envWith({ RELAY_ALLOWED_ATTRIBUTES: "tier, ltv" });

    const allowed = await handleRequest(post("/v1/profiles/crm-1", { attributes: { ltv: 1 } }), commaSeparated);
    const refused = await handleRequest(post("/v1/profiles/crm-1", { attributes: { city: "Paris" } }), commaSeparated);

    expect([allowed.status, refused.status]).toEqual([202, 400]);
  });
});
