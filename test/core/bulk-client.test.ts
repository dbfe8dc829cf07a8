import fc from "fast-check";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createTargetEmulator } from "../../src/emulator/index.js";
import {
  createTargetClient,
  encodeBatches,
  isTargetBulkUpdateError,
  isTargetRejectedError,
  isTargetTimeoutError,
  isTargetValidationError,
  parseBatchStatus,
  parseBatchSubmission,
  TargetBulkUpdateError,
  type ProfileUpdate,
  type TargetClientOptions,
} from "../../src/index.js";
import { failure } from "./support.js";

const fastRetry = { limit: 2, baseDelay: 1, maxDelay: 5 };
const quickWait = { minInterval: 1, maxInterval: 5 };

function setup(
  options: Partial<TargetClientOptions> = {},
  emulatorOptions: Parameters<typeof createTargetEmulator>[0] = {},
) {
  const emulator = createTargetEmulator({ clientCode: "acme", ...emulatorOptions });
  const fetch = vi.fn(emulator.fetch);
  const target = createTargetClient({ clientCode: "acme", fetch, retry: fastRetry, ...options });
  const requests = () => fetch.mock.calls.map(([request]) => request as Request);
  return { emulator, fetch, target, requests };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("parseBatchSubmission / parseBatchStatus", () => {
  it("reads the documented submission answer", () => {
    const answer = `<response><success>true</success>
<batchStatus>http://mboxedge45.tt.omtrdc.net/m2/demo/profile/batchStatus?batchId=demo-1701473848678-13029383</batchStatus>
<message>Batch submitted for processing</message></response>`;
    expect(parseBatchSubmission(answer)).toEqual({
      batchId: "demo-1701473848678-13029383",
      statusUrl: "http://mboxedge45.tt.omtrdc.net/m2/demo/profile/batchStatus?batchId=demo-1701473848678-13029383",
      message: "Batch submitted for processing",
    });
  });

  it("reads the tag-stripped submission answer, run together or spread over lines", () => {
    const url = "http://mboxedge45.tt.omtrdc.net/m2/demo/profile/batchStatus?batchId=demo-1701473848678-13029383";
    const expected = {
      batchId: "demo-1701473848678-13029383",
      statusUrl: url,
      message: "Batch submitted for processing",
    };
    expect(parseBatchSubmission(`true${url}Batch submitted for processing`)).toEqual(expected);
    expect(parseBatchSubmission(`\n    true\n    ${url}\n    Batch submitted for processing\n`)).toEqual(expected);
    const withNode = "https://mboxedge28.tt.omtrdc.net/m2/demo/v2/profile/batchStatus?batchId=demo-1-2&amp;m2Node=00";
    expect(parseBatchSubmission(`true${withNode}Batch submitted for processing`)).toMatchObject({
      batchId: "demo-1-2",
      statusUrl: "https://mboxedge28.tt.omtrdc.net/m2/demo/v2/profile/batchStatus?batchId=demo-1-2&m2Node=00",
    });
    expect(() => parseBatchSubmission("trueBatch submitted for processing")).toThrow(/not a batch submission answer/);
  });

  it("turns success=false (in XML or tag-stripped) into a rejection and nonsense into a response error", () => {
    for (const answer of [
      "<response><success>false</success><message>Unexpected error</message></response>",
      "falseUnexpected error",
    ]) {
      const rejected = (() => {
        try {
          parseBatchSubmission(answer);
        } catch (error) {
          return error;
        }
      })();
      expect(isTargetRejectedError(rejected) && rejected.targetMessage).toBe("Unexpected error");
    }
    expect(() => parseBatchSubmission("<html>oops</html>")).toThrow(/not a batch submission answer/);
  });

  it("reads the documented detailed status, counters as numbers, failed ids listed", () => {
    const status = parseBatchStatus(
      "<response><batchId>demo-1</batchId><status>complete</status><batchSize>3</batchSize><consumedCount>3</consumedCount>" +
        "<successfulUpdates>1</successfulUpdates><profilesNotFound>0</profilesNotFound><failedUpdates>2</failedUpdates>" +
        "<profile><id>crm-7</id><status>failed</status></profile><profile><id>a&amp;b</id><status>failed</status></profile>" +
        "<profile><id>crm-8</id><status>success</status></profile></response>",
    );
    expect(status).toEqual({
      batchId: "demo-1",
      status: "complete",
      batchSize: 3,
      consumedCount: 3,
      successfulUpdates: 1,
      profilesNotFound: 0,
      failedUpdates: 2,
      failedIds: ["crm-7", "a&b"],
    });
  });

  it("counts every listed row whose status is not success or pending as failed (older v2 pages said error)", () => {
    const status = parseBatchStatus(
      "<response><batchId>demo-1</batchId><status>complete</status><batchSize>5</batchSize>" +
        "<profile><id>a</id><status>success</status></profile><profile><id>b</id><status>error</status></profile>" +
        "<profile><id>c</id><status>pending</status></profile><profile><id>d</id><status>FAILED</status></profile>" +
        "<profile><id>e</id></profile></response>",
    );
    // Without details: batchSize, and the failed rows all the same.
    expect(status).toEqual({ batchId: "demo-1", status: "complete", batchSize: 5, failedIds: ["b", "d", "e"] });
  });

  it("reads a status without details, and refuses an unknown status", () => {
    expect(parseBatchStatus("<response><batchId>b</batchId><status>stuck</status></response>")).toEqual({
      batchId: "b",
      status: "stuck",
      failedIds: [],
    });
    expect(() => parseBatchStatus("<response><batchId>b</batchId><status>lost</status></response>")).toThrow(/status/);
  });
});

describe("submitBatch", () => {
  it("submits a v2 file with the form content type and reads the batch id", async () => {
    const { emulator, target, requests } = setup({ token: "tok" }, { token: "tok" });
    const [file] = encodeBatches([{ mbox3rdPartyId: "crm-1", attributes: { tier: "gold" } }]);
    const submission = await target.submitBatch(file!);
    expect(submission.batchId).toMatch(/^acme-/);
    const [request] = requests();
    expect(request?.url).toBe("https://acme.tt.omtrdc.net/m2/acme/v2/profile/batchUpdate");
    expect(request?.headers.get("content-type")).toBe("application/x-www-form-urlencoded");
    expect(request?.headers.get("authorization")).toBe("Bearer tok");
    // v2 creates the profile.
    expect(emulator.getProfile({ thirdPartyId: "crm-1" })?.attributes).toEqual({ tier: "gold" });
  });

  it("v1 on request: the documented path, existing profiles only", async () => {
    const { emulator, target, requests } = setup({}, { pollsUntilComplete: 0 });
    emulator.seedProfile({ thirdPartyId: "known" });
    const [file] = encodeBatches([
      { mbox3rdPartyId: "known", attributes: { a: "1" } },
      { mbox3rdPartyId: "unknown", attributes: { a: "1" } },
    ]);
    const submission = await target.submitBatch(file!, { version: 1 });
    expect(requests()[0]?.url).toBe("https://acme.tt.omtrdc.net/m2/acme/profile/batchUpdate");
    expect(emulator.getProfile({ thirdPartyId: "unknown" })).toBeUndefined();
    const status = await target.getBatchStatus(submission, { details: true });
    expect(status).toMatchObject({ profilesNotFound: 1, successfulUpdates: 1 });
  });

  it("a malformed % fails the whole batch: a typed rejection with Target's message", async () => {
    const { target } = setup();
    const error = await failure(target.submitBatch("batch=thirdPartyId,a\ncrm-1,50%"));
    expect(isTargetRejectedError(error) && error.targetMessage).toBe("Unexpected error");
  });

  it("refuses a body that is not a batch before any call", async () => {
    const { fetch, target } = setup();
    const error = await failure(target.submitBatch("thirdPartyId,a\ncrm-1,b"));
    expect(isTargetValidationError(error) && error.issues[0]?.message).toMatch(/must start with 'batch='/);
    expect(fetch).not.toHaveBeenCalled();
  });

  it("takes its own timeout: uploads outlast a single update's", async () => {
    const { emulator, target } = setup({ timeout: 20 });
    emulator.injectFaults({ delayMs: 100, operations: ["batchUpdate"] });
    await expect(target.submitBatch("batch=thirdPartyId,a\ncrm-1,b", { timeout: 2_000 })).resolves.toMatchObject({
      message: "Batch submitted for processing",
    });
    emulator.injectFaults({ delayMs: 100, operations: ["batchUpdate"] });
    expect(isTargetTimeoutError(await failure(target.submitBatch("batch=thirdPartyId,a\ncrm-1,b")))).toBe(true);
  });

  it("retries a 503, honouring Retry-After", async () => {
    const { emulator, fetch, target } = setup();
    emulator.injectFaults({ status: 503, headers: { "retry-after": "0" }, operations: ["batchUpdate"] });
    await target.submitBatch("batch=thirdPartyId,a\ncrm-1,b");
    expect(fetch).toHaveBeenCalledTimes(2);
  });
});

describe("getBatchStatus", () => {
  it("reports details and the ids Target listed as failed", async () => {
    const { emulator, target } = setup({}, { pollsUntilComplete: 0 });
    emulator.failRows(["crm-2"]);
    const submission = await target.submitBatch(
      encodeBatches([
        { mbox3rdPartyId: "crm-1", attributes: { a: "1" } },
        { mbox3rdPartyId: "crm-2", attributes: { a: "2" } },
      ]).next().value!,
    );
    const status = await target.getBatchStatus(submission, { details: true });
    expect(status).toMatchObject({
      status: "complete",
      batchSize: 2,
      successfulUpdates: 1,
      failedUpdates: 1,
      failedIds: ["crm-2"],
    });
  });

  it("follows a status URL on an edge host, over https", async () => {
    const { target, requests } = setup({ token: "tok" });
    await target
      .getBatchStatus("http://mboxedge45.tt.omtrdc.net/m2/acme/profile/batchStatus?batchId=b-1")
      .catch(() => undefined);
    expect(requests()[0]?.url).toBe("https://mboxedge45.tt.omtrdc.net/m2/acme/profile/batchStatus?batchId=b-1");
  });

  it("follows the v2 status URL of older answers (m2Node) as given, and reads the default answer's failed rows", async () => {
    const { emulator, target, requests } = setup({}, { pollsUntilComplete: 0 });
    emulator.failRows(["crm-2"]);
    const submission = await target.submitBatch("batch=thirdPartyId,a\ncrm-1,1\ncrm-2,2");
    const v2Url = `https://mboxedge28.tt.omtrdc.net/m2/acme/v2/profile/batchStatus?batchId=${submission.batchId}&m2Node=00`;
    const status = await target.getBatchStatus(v2Url);
    expect(requests()[1]?.url).toBe(v2Url);
    expect(status).toEqual({ batchId: submission.batchId, status: "complete", batchSize: 2, failedIds: ["crm-2"] });
  });

  it("follows an edge host over https even when the client itself uses http", async () => {
    const { target, requests } = setup({ baseUrl: "http://localhost:8080" });
    await target
      .getBatchStatus("http://mboxedge45.tt.omtrdc.net/m2/acme/profile/batchStatus?batchId=b-1")
      .catch(() => undefined);
    await target.getBatchStatus("http://localhost:8080/m2/acme/profile/batchStatus?batchId=b-2").catch(() => undefined);
    expect(requests().map((request) => request.url)).toEqual([
      "https://mboxedge45.tt.omtrdc.net/m2/acme/profile/batchStatus?batchId=b-1",
      "http://localhost:8080/m2/acme/profile/batchStatus?batchId=b-2",
    ]);
  });

  it("checks the batch reference", async () => {
    const { fetch, target } = setup();
    await expect(target.getBatchStatus(undefined as never)).rejects.toThrow(/batch must be a batch id/);
    await expect(target.getBatchStatus("https://mboxedge45.tt.omtrdc.net/m2/acme/profile/batchStatus")).rejects.toThrow(
      /must carry a batchId/,
    );
    expect(fetch).not.toHaveBeenCalled();
  });

  it("never follows a status URL to another host, and never sends it the token", async () => {
    const { target, requests } = setup({ token: "tok" });
    for (const elsewhere of [
      "https://evil.example/m2/acme/profile/batchStatus?batchId=b-1",
      "https://tt.omtrdc.net.evil.example/m2/acme/profile/batchStatus?batchId=b-1",
      "https://user:pw@mboxedge45.tt.omtrdc.net/m2/acme/profile/batchStatus?batchId=b-1",
    ]) {
      await target.getBatchStatus({ batchId: "b-1", statusUrl: elsewhere, message: "" }).catch(() => undefined);
    }
    const hosts = requests().map((request) => new URL(request.url).host);
    expect(hosts).toEqual(["acme.tt.omtrdc.net", "acme.tt.omtrdc.net", "acme.tt.omtrdc.net"]);
    expect(requests()[0]?.url).toBe("https://acme.tt.omtrdc.net/m2/acme/profile/batchStatus?batchId=b-1");
  });
});

describe("usesEcid", () => {
  it("sends pcId files to v1 (existing profiles only) and thirdPartyId files to the version asked", async () => {
    const { emulator, target, requests } = setup({ usesEcid: true }, { pollsUntilComplete: 0 });
    emulator.seedProfile({ tntId: "pc-known" });
    const [pcFile] = encodeBatches([
      { mboxPC: "pc-known", attributes: { tier: "gold" } },
      { mboxPC: "pc-new", attributes: { tier: "gold" } },
    ]);
    const pcBatch = await target.submitBatch(pcFile!);
    await target.submitBatch("batch=pcId,tier\npc-known,silver", { version: 2 });
    await target.submitBatch("batch=thirdPartyId,tier\ncrm-1,gold");
    expect(requests().map((request) => new URL(request.url).pathname)).toEqual([
      "/m2/acme/profile/batchUpdate",
      "/m2/acme/profile/batchUpdate",
      "/m2/acme/v2/profile/batchUpdate",
    ]);
    expect(await target.getBatchStatus(pcBatch, { details: true })).toMatchObject({
      successfulUpdates: 1,
      profilesNotFound: 1,
    });
    expect(emulator.getProfile({ tntId: "pc-new" })).toBeUndefined();
    expect(emulator.getProfile({ tntId: "pc-known" })?.attributes).toEqual({ tier: "silver" });
    expect(emulator.getProfile({ thirdPartyId: "crm-1" })?.attributes).toEqual({ tier: "gold" });
  });

  it("applies to bulkUpdate too; without it, pcId files go to v2 as before", async () => {
    const rows: ProfileUpdate[] = [
      { mbox3rdPartyId: "crm-1", attributes: { a: 1 } },
      { mboxPC: "pc-1", attributes: { a: 1 } },
    ];
    const paths = async (usesEcid: boolean | undefined) => {
      const { target, requests } = setup(usesEcid === undefined ? {} : { usesEcid });
      await target.bulkUpdate(rows, { wait: false });
      return requests().map((request) => new URL(request.url).pathname);
    };
    expect(await paths(true)).toEqual(["/m2/acme/v2/profile/batchUpdate", "/m2/acme/profile/batchUpdate"]);
    expect(await paths(undefined)).toEqual(["/m2/acme/v2/profile/batchUpdate", "/m2/acme/v2/profile/batchUpdate"]);
    expect(() => createTargetClient({ clientCode: "acme", usesEcid: "yes" as never })).toThrow(
      /usesEcid must be true or false/,
    );
  });
});

describe("visibility delay", () => {
  it("a batch is accepted but not visible until Target applies it; its status says incomplete until then", async () => {
    let clock = Date.UTC(2024, 0, 1);
    const { target } = setup({}, { now: () => clock, visibilityDelay: { batch: 3_600_000 }, pollsUntilComplete: 0 });
    const submission = await target.submitBatch("batch=thirdPartyId,tier\ncrm-1,gold");
    expect(await target.getProfile({ thirdPartyId: "crm-1" })).toBeUndefined();
    expect(await target.getBatchStatus(submission, { details: true })).toMatchObject({
      status: "incomplete",
      successfulUpdates: 0,
    });
    clock += 3_600_000;
    expect(await target.getBatchStatus(submission, { details: true })).toMatchObject({
      status: "complete",
      successfulUpdates: 1,
    });
    expect((await target.getProfile({ thirdPartyId: "crm-1" }))?.profileAttributes["tier"]?.value).toBe("gold");
  });
});

describe("the bulk limiter", () => {
  it("lets 50 bulk calls through in a minute; the 51st waits for the window", async () => {
    vi.useFakeTimers();
    const { emulator, fetch, target } = setup({}, { pollsUntilComplete: 0 });
    const submission = await target.submitBatch("batch=thirdPartyId,a\ncrm-1,b");
    for (let call = 2; call <= 50; call++) await target.getBatchStatus(submission);
    expect(fetch).toHaveBeenCalledTimes(50);

    let done = false;
    const fiftyFirst = target.getBatchStatus(submission).then(() => (done = true));
    await vi.advanceTimersByTimeAsync(59_000);
    expect(done).toBe(false);
    expect(fetch).toHaveBeenCalledTimes(50);
    await vi.advanceTimersByTimeAsync(1_000);
    await fiftyFirst;
    expect(fetch).toHaveBeenCalledTimes(51);
    // Target never saw more than 50 in a minute, so it never answered 503.
    expect(emulator.calls.every((call) => call.status === 200)).toBe(true);
  });

  it("single updates are not held by the bulk limit", async () => {
    vi.useFakeTimers();
    const { emulator, target } = setup();
    emulator.seedProfile({ thirdPartyId: "crm-1" });
    const submission = await target.submitBatch("batch=thirdPartyId,a\ncrm-1,b");
    for (let call = 2; call <= 50; call++) await target.getBatchStatus(submission);
    await expect(target.updateProfile({ mbox3rdPartyId: "crm-1", attributes: { a: "c" } })).resolves.toBeDefined();
  });
});

describe("waitForBatch", () => {
  it("polls until complete and returns the detailed status", async () => {
    const { target, fetch } = setup({}, { pollsUntilComplete: 3 });
    const submission = await target.submitBatch("batch=thirdPartyId,a\ncrm-1,b");
    const status = await target.waitForBatch(submission, quickWait);
    expect(status).toMatchObject({ status: "complete", batchSize: 1, successfulUpdates: 1 });
    expect(fetch).toHaveBeenCalledTimes(1 + 4);
  });

  it("gives up after its timeout", async () => {
    const { target } = setup({}, { pollsUntilComplete: 1_000 });
    const submission = await target.submitBatch("batch=thirdPartyId,a\ncrm-1,b");
    const error = await failure(target.waitForBatch(submission, { ...quickWait, timeout: 30 }));
    expect(isTargetTimeoutError(error) && error.operation).toBe("waitForBatch");
  });

  it("checks its options", async () => {
    const { target } = setup();
    await expect(target.waitForBatch("b-1", { minInterval: 0 })).rejects.toThrow(/minInterval must be at least 1 ms/);
    await expect(target.waitForBatch("b-1", { timeout: Number.NaN })).rejects.toThrow(/timeout/);
  });

  it("its timeout also bounds a poll waiting for the bulk limiter", async () => {
    const { target } = setup({ bulkCallsPerMinute: 1 }, { pollsUntilComplete: 1_000 });
    const submission = await target.submitBatch("batch=thirdPartyId,a\ncrm-1,b");
    const started = Date.now();
    const error = await failure(target.waitForBatch(submission, { ...quickWait, timeout: 100 }));
    expect(isTargetTimeoutError(error)).toBe(true);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("stops when its signal aborts", async () => {
    const { target } = setup({}, { pollsUntilComplete: 1_000 });
    const submission = await target.submitBatch("batch=thirdPartyId,a\ncrm-1,b");
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error("stop")), 20);
    await expect(target.waitForBatch(submission, { ...quickWait, signal: controller.signal })).rejects.toThrow("stop");
  });
});

describe("bulkUpdate", () => {
  it("encodes, submits and waits file by file, reporting progress and failed ids", async () => {
    const { emulator, target } = setup({}, { pollsUntilComplete: 1 });
    emulator.failRows(["crm-3"]);
    const rows: ProfileUpdate[] = [
      { mbox3rdPartyId: "crm-1", attributes: { tier: "gold" } },
      { mbox3rdPartyId: "crm-2", attributes: { tier: "silver" } },
      { mboxPC: "pc-1", attributes: { tier: "bronze" } },
      { mbox3rdPartyId: "crm-3", attributes: { tier: "gold" } },
      { mbox3rdPartyId: "crm-4", attributes: { tier: "gold" } },
    ];
    const progress: unknown[] = [];
    async function* stream() {
      yield* rows;
    }
    const report = await target.bulkUpdate(stream(), {
      maxRows: 2,
      wait: quickWait,
      onProgress: (step) => progress.push(step),
    });
    // Third-party ids: 4 rows in files of 2; the pcId goes alone.
    expect(report.files).toBe(3);
    expect(report.rows).toBe(5);
    expect(report.failedIds).toEqual(["crm-3"]);
    expect(report.batches.map((batch) => [batch.idType, batch.rows, batch.status?.status])).toEqual([
      ["thirdPartyId", 2, "complete"],
      ["thirdPartyId", 2, "complete"],
      ["pcId", 1, "complete"],
    ]);
    expect(progress.at(-1)).toEqual({
      rowsRead: 5,
      rowsRejected: 0,
      rowsEncoded: 5,
      filesSubmitted: 3,
      filesFinished: 3,
    });
    expect(emulator.getProfile({ thirdPartyId: "crm-4" })?.attributes).toEqual({ tier: "gold" });
  });

  it("while waiting, leaves at most 10 batches unread, as Target keeps only the last 10 statuses", async () => {
    const { emulator, target } = setup({}, { pollsUntilComplete: 0 });
    const rows = Array.from({ length: 12 }, (_, index) => ({ mbox3rdPartyId: `crm-${index}`, attributes: { a: 1 } }));
    const report = await target.bulkUpdate(rows, { maxRows: 1, wait: quickWait });
    expect(report.batches.map((batch) => batch.status?.status)).toEqual(Array(12).fill("complete"));
    const operations = emulator.calls.map((call) => (call.operation === "batchUpdate" ? "submit" : "status"));
    // Ten submits, then the first status before the 11th submit, the second before the 12th, then the rest.
    expect(operations).toEqual([
      ...Array(10).fill("submit"),
      "status",
      "submit",
      "status",
      "submit",
      ...Array(10).fill("status"),
    ]);
    expect(emulator.calls.every((call) => call.status === 200)).toBe(true);
  });

  it("without waiting it only submits", async () => {
    const { target, emulator } = setup();
    const report = await target.bulkUpdate([{ mbox3rdPartyId: "crm-1", attributes: { a: 1 } }], { wait: false });
    expect(report.batches[0]?.status).toBeUndefined();
    expect(emulator.calls.map((call) => call.operation)).toEqual(["batchUpdate"]);
  });

  it("a failure part way reports what was already submitted", async () => {
    const { emulator, target } = setup();
    emulator.injectFaults({ times: 10, status: 500, operations: ["batchUpdate"] });
    const rows = [
      { mbox3rdPartyId: "crm-1", attributes: { a: 1 } },
      { mbox3rdPartyId: "crm-2", attributes: { a: 1 } },
    ];
    const error = await failure(target.bulkUpdate(rows, { maxRows: 1, wait: false }));
    expect(isTargetBulkUpdateError(error) && error.report.files).toBe(0);

    const bad = [
      { mbox3rdPartyId: "crm-1", attributes: { a: 1 } },
      { mbox3rdPartyId: "crm-2", attributes: { a: 1 } },
      { mbox3rdPartyId: "", attributes: { a: 1 } },
    ];
    const fresh = setup();
    const stopped = await failure(fresh.target.bulkUpdate(bad, { maxRows: 1, wait: false }));
    expect(isTargetBulkUpdateError(stopped) && stopped.report.files).toBe(1);
    expect(isTargetValidationError(stopped.cause)).toBe(true);
  });

  it("an abort part way still reports the files Target already has", async () => {
    const { target } = setup({}, { pollsUntilComplete: 1_000 });
    const controller = new AbortController();
    const rows = [
      { mbox3rdPartyId: "crm-1", attributes: { a: 1 } },
      { mbox3rdPartyId: "crm-2", attributes: { a: 1 } },
    ];
    const pending = failure(target.bulkUpdate(rows, { maxRows: 1, wait: quickWait, signal: controller.signal }));
    setTimeout(() => controller.abort(new Error("stop")), 30);
    const error = await pending;
    expect(isTargetBulkUpdateError(error) && error.report.files).toBe(2);
    expect((error.cause as Error).message).toBe("stop");
  });

  it("keeps visitor ids out of the error's JSON", () => {
    const report = { rowsRead: 1, rowsRejected: 0, files: 1, rows: 1, batches: [], failedIds: ["canary-id-31"] };
    const error = new TargetBulkUpdateError(report, new Error("later call failed"));
    expect(error.report.failedIds).toEqual(["canary-id-31"]);
    expect(JSON.stringify(error)).not.toContain("canary-id-31");
    expect(Object.keys(error)).not.toContain("report");
  });

  it("checks its options, passing the encoder's limits on as given", async () => {
    const { fetch, target } = setup();
    const rows = [{ mbox3rdPartyId: "crm-1", attributes: { a: 1 } }];
    await expect(target.bulkUpdate(rows, { version: 3 as never })).rejects.toThrow(/version must be 1 or 2/);
    const error = await failure(target.bulkUpdate(rows, { maxRows: 0 }));
    expect(isTargetBulkUpdateError(error) && isTargetValidationError(error.cause)).toBe(true);
    expect(fetch).not.toHaveBeenCalled();
  });

  it("stores random rows exactly, merged as specified (property, through the emulator)", async () => {
    const cell = fc
      .array(
        fc.oneof(
          fc.string({ unit: "grapheme", minLength: 1, maxLength: 4 }),
          fc.constantFrom(",", "\n", "\r", "&", "=", "+", "%", '"', "é", "日本", "😀"),
        ),
        {
          minLength: 1,
          maxLength: 4,
        },
      )
      .map((parts) => parts.join(""));
    const name = cell
      .map((text) => text.replace(/[\u0000-\u001f\u007f-\u009f]/g, "_"))
      .filter((text) => text.length <= 128 && !text.startsWith("profile."));
    const id = fc.constantFrom("crm-1", "crm-2", "a,b", "x&y", "50%", "é", "日本");
    const row = fc.record({ mbox3rdPartyId: id, attributes: fc.dictionary(name, cell, { minKeys: 1, maxKeys: 4 }) });

    await fc.assert(
      fc.asyncProperty(fc.array(row, { minLength: 1, maxLength: 12 }), async (rows) => {
        const { emulator, target } = setup();
        await target.bulkUpdate(rows, { wait: false, maxRows: 3 });
        const expected = new Map<string, Record<string, string>>();
        for (const { mbox3rdPartyId, attributes } of rows) {
          expected.set(mbox3rdPartyId, { ...expected.get(mbox3rdPartyId), ...attributes });
        }
        for (const [visitor, attributes] of expected) {
          expect(emulator.getProfile({ thirdPartyId: visitor })?.attributes).toEqual(attributes);
        }
      }),
      { numRuns: 40 },
    );
  }, 30_000);
});
