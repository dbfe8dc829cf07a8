// What `target-profile push` puts on the wire: each batch file streamed from the encoder's own bytes
// (no copy), yet the request Node's fetch sends for bytes given whole, Content-Length and all.
// Target's acceptance of chunked uploads is not documented: never chunked, each attempt whole.
import { writeFileSync } from "node:fs";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { encodeBatches, type ProfileUpdate } from "target-profile";
import { afterAll, describe, expect, it } from "vitest";
import { run, tempFolder } from "./support.js";

interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** A Target that reads every upload whole, answers the first `busy` with a 503, and every batch complete. */
async function recordingTarget(busy: number) {
  const uploads: Received[] = [];
  let batches = 0;
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const url = new URL(request.url ?? "/", "http://localhost");
      response.setHeader("content-type", "text/xml");
      if (!url.pathname.endsWith("/batchUpdate")) {
        const id = url.searchParams.get("batchId");
        response.end(
          `<response><batchId>${id}</batchId><status>complete</status><failedUpdates>0</failedUpdates></response>`,
        );
        return;
      }
      uploads.push({ headers: request.headers, body: Buffer.concat(chunks).toString("latin1") });
      if (uploads.length <= busy) {
        response.writeHead(503, { "retry-after": "0" }).end("busy");
        return;
      }
      const status = `http://${request.headers.host}/m2/acme/v2/profile/batchStatus?batchId=acme-${++batches}`;
      response.end(
        `<response><success>true</success><batchStatus>${status}</batchStatus><message>Batch submitted for processing</message></response>`,
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { env: { TARGET_BASE_URL: url, TARGET_CLIENT_CODE: "acme" }, uploads, close: () => server.close() };
}

describe("target-profile push: the uploads", { timeout: 60_000 }, () => {
  const folder = tempFolder();
  afterAll(() => folder.remove());
  // Files of several of the stream's 64 KiB chunks.
  const count = 12_000;
  const rows: ProfileUpdate[] = Array.from({ length: count }, (_, i) => ({
    mbox3rdPartyId: `crm-${i}`,
    attributes: { tier: ["gold", "silver"][i % 2]!, city: "São Paulo", since: "2024-01-02T03:04:05Z" },
  }));
  const csv = folder.path("customers.csv");
  writeFileSync(
    csv,
    `mbox3rdPartyId,tier,city,since\n${rows.map((row) => `${row.mbox3rdPartyId},${Object.values(row.attributes).join(",")}`).join("\n")}\n`,
  );
  const files = [...encodeBatches(rows, { maxRows: 5_000 })].map((file) => file.body);

  it("sends each file with its Content-Length, never chunked, the whole file again after a 503", async () => {
    const target = await recordingTarget(1);
    try {
      const pushed = await run(["push", csv, "--rows-per-file", "5000", "--quiet"], {
        cwd: folder.dir,
        env: target.env,
      });
      expect(pushed.stderr).toBe("");
      expect(pushed.status).toBe(0);
    } finally {
      target.close();
    }
    expect(files.length).toBe(3);
    expect(files[0]!.length).toBeGreaterThan(4 * 64 * 1024);
    expect(target.uploads.map(({ body }) => body)).toEqual([files[0], ...files]);
    for (const { headers, body } of target.uploads) {
      expect(headers["content-length"]).toBe(String(body.length));
      expect(headers["transfer-encoding"]).toBeUndefined();
      expect(headers["content-type"]).toBe("application/x-www-form-urlencoded");
    }
  });
});
