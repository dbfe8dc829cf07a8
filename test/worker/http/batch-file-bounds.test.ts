import { describe, expect, it } from "vitest";
import { handleRequest } from "../../../worker/http/handle-request.js";
import { envWith, errorOf, fakeTarget, post } from "../helpers.js";
import { queuedBindings } from "../queue-helpers.js";

const PADDING =
  "the updates need more than one batch file: their rows hold such different attribute names that one file " +
  "would be mostly empty cells; send rows with the same attribute names together, in separate requests";

/** `count` visitors, each with an attribute of its own: every row padded to every other's column. */
const distinctColumns = (count: number) => ({
  updates: Array.from({ length: count }, (_, index) => ({
    mbox3rdPartyId: `v-${index}`,
    attributes: { [`attribute-${index}`]: "x" },
  })),
});

const bytesOf = (body: unknown) => new TextEncoder().encode(JSON.stringify(body)).byteLength;

describe("what one batch request may build", () => {
  it("refuses rows so unlike that their file would be mostly empty cells, naming that limit (not the ids)", async () => {
    const { sent } = fakeTarget();
    // 2,000 rows (well under RELAY_MAX_BATCH_ROWS), 2,000 columns: 4,000,000 cells for 2,000 values.
    const body = distinctColumns(2_000);

    const response = await handleRequest(post("/v1/profiles", body), envWith({}));

    expect(response.status).toBe(413);
    expect(await errorOf(response)).toEqual({ code: "payload_too_large", field: "updates", message: PADDING });
    expect(sent).toEqual([]);
  });

  it("refuses them in queued delivery too, before queuing anything", async () => {
    const { bindings, deliveries } = queuedBindings();

    const response = await handleRequest(post("/v1/profiles", distinctColumns(2_000)), bindings);

    expect(response.status).toBe(413);
    expect((await errorOf(response)).message).toBe(PADDING);
    expect(deliveries.sent).toEqual([]);
  });

  it.each([
    ["rows sharing their attribute names", 3_000, (i: number) => ({ tier: `t${i % 4}`, ltv: i, vip: i % 2 === 0 })],
    ["values that percent-encode to 3 bytes a byte", 500, () => ({ note: " ".repeat(200), city: "ü€𝄞".repeat(20) })],
    ["numbers whose digits outgrow their JSON", 2_000, () => ({ a: 1e15, b: 9e15, c: -1e15 })],
    [
      "rows with names of their own beside long shared ones",
      120,
      (i: number) => ({ [`attribute-${i}`]: "x", tier: "gold", notes: "n".repeat(120) }),
    ],
  ])("builds at most 4 bytes of batch file per byte of request: %s", async (name, count, attributes) => {
    const { emulator } = fakeTarget();
    const body = {
      // Visitors of its own: one the relay carried in a v2 file already would have the request queued.
      updates: Array.from({ length: count }, (_, index) => ({
        mbox3rdPartyId: `${name.slice(0, 12).replace(/\W/g, "-")}-${index}`,
        attributes: attributes(index),
      })),
    };

    const response = await handleRequest(post("/v1/profiles", body), envWith({}));

    expect(response.status).toBe(202);
    const [submission] = emulator.calls.filter(({ operation }) => operation === "batchUpdate");
    expect(submission?.bodyBytes).toBeGreaterThan(0);
    // The file travels as its body (the encoder's `batch=…` text, sent as is).
    expect((submission?.bodyBytes as number) / bytesOf(body)).toBeLessThanOrEqual(4);
  });
});
