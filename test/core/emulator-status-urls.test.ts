import { describe, expect, it, vi } from "vitest";
import { createTargetEmulator } from "../../src/emulator/index.js";
import { createTargetClient } from "../../src/index.js";

describe("the emulator's batch status URLs", () => {
  it("point at an edge host by default, as Target's do", async () => {
    const emulator = createTargetEmulator({ clientCode: "acme" });
    const target = createTargetClient({ clientCode: "acme", fetch: emulator.fetch });
    const { statusUrl } = await target.submitBatch("batch=thirdPartyId,a\ncrm-1,1");
    expect(statusUrl).toMatch(/^https:\/\/mboxedge45\.tt\.omtrdc\.net\/m2\/acme\/profile\/batchStatus\?batchId=/);
  });

  it("point back at where the batch came in, with statusUrls: request, and the client follows them there", async () => {
    const emulator = createTargetEmulator({ clientCode: "acme", statusUrls: "request", pollsUntilComplete: 0 });
    const fetch = vi.fn(emulator.fetch);
    const target = createTargetClient({ clientCode: "acme", baseUrl: "http://127.0.0.1:4321", fetch });
    const submission = await target.submitBatch("batch=thirdPartyId,a\ncrm-1,1");
    expect(submission.statusUrl).toBe(
      `http://127.0.0.1:4321/m2/acme/profile/batchStatus?batchId=${encodeURIComponent(submission.batchId)}`,
    );
    await expect(target.waitForBatch(submission, { minInterval: 1 })).resolves.toMatchObject({ status: "complete" });
    expect(fetch.mock.calls.map(([request]) => new URL((request as Request).url).host)).toEqual([
      "127.0.0.1:4321",
      "127.0.0.1:4321",
    ]);
  });
});
