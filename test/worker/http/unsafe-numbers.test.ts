import { describe, expect, it } from "vitest";
import { createRelayClient, isTargetValidationError } from "../../../src/index.js";
import { handleRequest } from "../../../worker/http/handle-request.js";
import { envWith, errorOf, fakeTarget, post } from "../helpers.js";
import { queuedBindings } from "../queue-helpers.js";

// JSON.parse rounds an integer beyond ±(2^53 − 1) to the nearest double: 9007199254740993 arrives as
// 9007199254740992, 12345678901234567890123 as 1.2345678901234568e+22. Such a number is refused with 400
// naming the field, rather than stored as another value.
const MESSAGE =
  "numbers must be within ±9007199254740991 (2^53 − 1): JSON cannot carry a larger integer exactly; send it as a string";

describe("integers JSON cannot carry exactly", () => {
  it.each(["12345678901234567890123", "9007199254740993", "9007199254740992", "-9007199254740993", "1e300"])(
    "are refused on POST /v1/profiles/{id}: %s",
    async (literal) => {
      const { sent } = fakeTarget();

      const response = await handleRequest(
        post("/v1/profiles/crm-n1", `{"attributes":{"tier":"gold","ltv":${literal}}}`),
        envWith({}),
      );

      expect(response.status).toBe(400);
      expect(await errorOf(response)).toEqual({
        code: "invalid_input",
        field: "attributes.ltv",
        message: `attributes.ltv: ${MESSAGE}`,
      });
      expect(sent).toEqual([]);
    },
  );

  it("are refused on POST /v1/profiles, naming the row, in queued delivery too", async () => {
    const { bindings, deliveries } = queuedBindings();
    const body = `{"updates":[{"mbox3rdPartyId":"crm-n2","attributes":{"ltv":1}},{"mbox3rdPartyId":"crm-n3","attributes":{"ltv":9007199254740993}}]}`;

    const response = await handleRequest(post("/v1/profiles", body), bindings);

    expect(response.status).toBe(400);
    expect(await errorOf(response)).toMatchObject({ field: "updates[1].attributes.ltv" });
    expect(deliveries.sent).toEqual([]);
  });

  it("take the largest exact ones, and the same digits as a string", async () => {
    const { emulator } = fakeTarget();
    emulator.seedProfile({ thirdPartyId: "crm-n4" });

    const response = await handleRequest(
      post(
        "/v1/profiles/crm-n4",
        '{"attributes":{"max":9007199254740991,"min":-9007199254740991,"big":"12345678901234567890123","ratio":0.5}}',
      ),
      envWith({}),
    );

    expect(response.status).toBe(202);
    expect(emulator.getProfile({ thirdPartyId: "crm-n4" })?.attributes).toEqual({
      max: "9007199254740991",
      min: "-9007199254740991",
      big: "12345678901234567890123",
      ratio: "0.5",
    });
  });

  it("are refused by the relay client before anything is sent", async () => {
    let calls = 0;
    const relay = createRelayClient({
      url: "https://relay.example",
      apiKey: "key",
      fetch: async () => {
        calls++;
        return new Response("{}");
      },
    });

    const error = await relay.updateProfile({ mbox3rdPartyId: "crm-n5", attributes: { ltv: 2 ** 60 } }).catch((e) => e);

    expect(isTargetValidationError(error) && error.issues).toEqual([{ path: "attributes.ltv", message: MESSAGE }]);
    expect(calls).toBe(0);
  });
});
