import { describe, expect, it } from "vitest";
import { createTargetEmulator } from "../../src/emulator/index.js";
import { MAX_BATCH_BYTES } from "../../src/index.js";

// Node only: a 50 MB body is too much to build in every runtime of the core suite.
describe("the emulator's limits are the core's (src/limits.ts)", () => {
  it("the batch body limit is the client's, to the byte", async () => {
    const emulator = createTargetEmulator({ clientCode: "acme" });
    const submit = (bytes: number) =>
      emulator.fetch("https://acme.tt.omtrdc.net/m2/acme/v2/profile/batchUpdate", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: `batch=thirdPartyId,a\ncrm-1,${"x".repeat(bytes - "batch=thirdPartyId,a\ncrm-1,".length)}`,
      });

    expect((await submit(MAX_BATCH_BYTES)).status).toBe(200);
    expect((await submit(MAX_BATCH_BYTES + 1)).status).toBe(400);
  });
});
