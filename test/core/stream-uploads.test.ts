// The client option streamUploads: bulkUpdate sends each batch file as a stream of the encoder's own
// bytes, with its length, instead of a copy. What Target gets must not change: the same bytes, each
// attempt whole.
import { describe, expect, it } from "vitest";
import {
  createTargetClient,
  encodeBatches,
  isTargetBulkUpdateError,
  isTargetTimeoutError,
  type ProfileUpdate,
  type TargetClientOptions,
} from "../../src/index.js";
import { failure } from "./support.js";

// Files of several stream chunks (64 KiB) each.
const MAX_BYTES = 100_000;
const rows: ProfileUpdate[] = Array.from({ length: 6_000 }, (_, i) => ({
  mbox3rdPartyId: `crm-${i}`,
  attributes: { tier: ["gold", "silver", "bronze"][i % 3]!, note: `n°${i} ${"x".repeat(i % 40)}` },
}));
const expected = [...encodeBatches(rows, { maxBytes: MAX_BYTES })].map((file) => file.body);

// Browsers drop a content-length header (a name they forbid): the option is not for them, but the
// rest of what it does is checked there too.
const keepsContentLength = new Request("https://example.test", {
  method: "POST",
  headers: { "content-length": "1" },
  body: "x",
}).headers.has("content-length");

const submitted = (n: number) =>
  new Response(
    `<response><success>true</success><batchStatus>https://acme.tt.omtrdc.net/m2/acme/v2/profile/batchStatus?batchId=acme-${n}</batchStatus><message>Batch submitted for processing</message></response>`,
    { headers: { "content-type": "text/xml" } },
  );

/**
 * A client whose fetch reads every upload whole, attempt by attempt, and answers it with
 * `answers` first (one a call), then as Target does.
 */
function recording(options: Partial<TargetClientOptions>, answers: (() => Response)[] = []) {
  const uploads: { body: string; contentLength: string | null }[] = [];
  const target = createTargetClient({
    clientCode: "acme",
    retry: { limit: 2, baseDelay: 1, maxDelay: 5 },
    ...options,
    async fetch(request) {
      const body = new TextDecoder().decode(await request.arrayBuffer());
      uploads.push({ body, contentLength: request.headers.get("content-length") });
      return answers.shift()?.() ?? submitted(uploads.length);
    },
  });
  return { target, uploads };
}

describe("streamUploads", () => {
  it("sends each file of bulkUpdate with its length: the very bytes a copy sends", async () => {
    const copied = recording({});
    const streamed = recording({ streamUploads: true });
    for (const { target } of [copied, streamed]) {
      const report = await target.bulkUpdate(rows, { maxBytes: MAX_BYTES, wait: false });
      expect(report.files).toBe(expected.length);
    }
    expect(expected.length).toBeGreaterThan(2);
    expect(copied.uploads.map(({ body }) => body)).toEqual(expected);
    expect(streamed.uploads.map(({ body }) => body)).toEqual(expected);
    // Without a length, fetch would send the stream chunked: never, as Target is not known to take it.
    if (keepsContentLength) {
      expect(streamed.uploads.map(({ contentLength }) => Number(contentLength))).toEqual(
        expected.map((body) => body.length),
      );
    }
  });

  it("sends the whole file again on each retry (a 503, then a 500)", async () => {
    const { target, uploads } = recording({ streamUploads: true }, [
      () => new Response("busy", { status: 503, headers: { "retry-after": "0" } }),
      () => new Response("oops", { status: 500 }),
    ]);
    await target.bulkUpdate(rows, { maxBytes: MAX_BYTES, wait: false });
    expect(uploads.map(({ body }) => body)).toEqual([expected[0], expected[0], ...expected]);
  });

  it("a timed-out upload stops the bulk update with a timeout, reporting the files Target has", async () => {
    let calls = 0;
    const target = createTargetClient({
      clientCode: "acme",
      streamUploads: true,
      // The second upload is read, and never answered.
      async fetch(request) {
        await request.arrayBuffer();
        if (++calls === 1) return submitted(1);
        return new Promise<Response>((_, reject) => {
          request.signal.addEventListener("abort", () => reject(request.signal.reason as Error));
        });
      },
    });
    const error = await failure(target.bulkUpdate(rows, { maxBytes: MAX_BYTES, wait: false, submitTimeout: 50 }));
    expect(isTargetBulkUpdateError(error) && isTargetTimeoutError(error.cause)).toBe(true);
    expect(isTargetBulkUpdateError(error) && error.report.files).toBe(1);
  });

  it("leaves submitBatch's string bodies as they are", async () => {
    const { target, uploads } = recording({ streamUploads: true });
    await target.submitBatch(expected[0]!);
    expect(uploads.map(({ body }) => body)).toEqual([expected[0]]);
  });
});
