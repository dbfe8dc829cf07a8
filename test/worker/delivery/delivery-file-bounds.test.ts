import { describe, expect, it, vi } from "vitest";
import { MAX_DELIVERY_FILE_BYTES } from "../../../worker/delivery/send-coalesced.js";
import { bundleMessage, consume, QUEUES, queuedBindings, updateMessage } from "../queue-helpers.js";

describe("a delivery's batch files", () => {
  it("stay within MAX_DELIVERY_FILE_BYTES, however much the rows' text grows when percent-encoded: more files instead", async () => {
    // 2,000 visitors whose values percent-encode to 3 bytes a byte: one file would be about 18 MB.
    const updates = Array.from({ length: 2_000 }, (_, index) =>
      updateMessage(`d-${index}`, { note: " ".repeat(3_000) }, Date.now(), "batch"),
    );
    const bundles = [];
    for (let index = 0; index < updates.length; index += 100)
      bundles.push(bundleMessage(updates.slice(index, index + 100)));
    const files: number[] = [];
    let batches = 0;
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
      const request = new Request(input, init);
      files.push((await request.arrayBuffer()).byteLength);
      const statusUrl = `https://mboxedge45.tt.omtrdc.net/m2/acme/profile/batchStatus?batchId=acme-1-${++batches}`;
      return new Response(
        `<response><success>true</success><batchStatus>${statusUrl}</batchStatus><message>ok</message></response>`,
      );
    });
    const { bindings } = queuedBindings();

    const settled = await consume(
      QUEUES.deliveries,
      bundles.map((body) => ({ body })),
      bindings,
    );

    expect(settled.acked).toHaveLength(bundles.length);
    expect(files.length).toBeGreaterThan(1);
    expect(Math.max(...files)).toBeLessThanOrEqual(MAX_DELIVERY_FILE_BYTES);
  });
});
