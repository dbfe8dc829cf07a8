import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createTargetEmulator, type TargetEmulator } from "../../src/emulator/index.js";

// A v2 batch's status reads its counts before its rows are applied; they must be the very counts
// applying the rows gives (ids refused or made to fail listed, the rest successful).
const BASE = "https://acme.tt.omtrdc.net";

async function submit(emulator: TargetEmulator, body: string, version: 1 | 2): Promise<string> {
  const path = version === 2 ? "/m2/acme/v2/profile/batchUpdate" : "/m2/acme/profile/batchUpdate";
  const response = await emulator.fetch(
    new Request(BASE + path, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body,
    }),
  );
  return /<batchStatus>(.*)<\/batchStatus>/.exec(await response.text())![1]!.replaceAll("&amp;", "&");
}

async function status(emulator: TargetEmulator, statusUrl: string): Promise<string> {
  const text = await (await emulator.fetch(`${statusUrl}&showDetails=true`)).text();
  return text.replace(/<batchId>[^<]*<\/batchId>/, "");
}

describe("a batch's status", () => {
  it("reads the counts applying its rows gives, before they are applied (property)", async () => {
    const id = fc.constantFrom("crm-1", "crm-2", "crm+3", "crm%2B4", "crm/5", "crm%2F6", "%C3%A9", "", "x".repeat(257));
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("thirdPartyId", "pcId"),
        fc.array(fc.tuple(id, fc.constantFrom("gold", "")), { minLength: 1, maxLength: 8 }),
        fc.constantFrom(1, 2) as fc.Arbitrary<1 | 2>,
        fc.subarray(["crm-1", "crm+3", "crm 3"]),
        fc.boolean(),
        async (idType, rows, version, failing, failLater) => {
          const body = `batch=${idType},tier\n${rows.map(([rowId, tier]) => `${rowId},${tier}`).join("\n")}`;
          // Writes due later get no timer: nothing applies the batch but a read, on this clock.
          let clock = 0;
          const options = { now: () => clock, visibilityDelay: { batch: 1_000 }, pollsUntilComplete: 0 };
          const [early, applied] = [createTargetEmulator(options), createTargetEmulator(options)];
          const urls: string[] = [];
          for (const emulator of [early, applied]) {
            emulator.seedProfile({ thirdPartyId: "crm-1", attributes: { tier: "silver" } });
            if (!failLater) emulator.failRows(failing);
            urls.push(await submit(emulator, body, version));
            // Ids made to fail before the batch is visible fail in it.
            if (failLater) emulator.failRows(failing);
          }
          // Not visible yet (a batch of only empty cells is skipped, complete at once).
          const skipped = rows.every(([, tier]) => tier === "");
          expect(await status(early, urls[0]!)).toContain(`<status>${skipped ? "complete" : "incomplete"}</status>`);
          clock = 1_000;
          applied.profiles();
          const [before, after] = [await status(early, urls[0]!), await status(early, urls[0]!)];
          expect(before).toContain("<status>complete</status>");
          expect(before).toBe(await status(applied, urls[1]!));
          expect(after).toBe(before);
          const kept = (emulator: TargetEmulator) =>
            emulator.profiles().map(({ thirdPartyId, attributes }) => ({ thirdPartyId, attributes }));
          expect(kept(early)).toEqual(kept(applied));
        },
      ),
      { numRuns: 200 },
    );
  });
});
