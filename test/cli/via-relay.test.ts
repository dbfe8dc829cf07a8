import { writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run, tempFolder } from "./support.js";

// A stand-in for the relay's two routes push uses: POST /v1/profiles (one batch per request) and
// GET /v1/batches/{id}; it records what it was sent. (The relay itself is tested in workerd.)
describe("target-profile push --via-relay", { timeout: 60_000 }, () => {
  const folder = tempFolder();
  const requests: { authorization: string | undefined; ids: string[] }[] = [];
  let server: Server;
  let url = "";

  beforeAll(async () => {
    server = createServer((request, response) => {
      let body = "";
      request.on("data", (chunk: Buffer) => (body += chunk));
      request.on("end", () => {
        response.setHeader("content-type", "application/json");
        if (request.method === "POST" && request.url === "/v1/profiles") {
          const { updates } = JSON.parse(body) as { updates: { mbox3rdPartyId: string }[] };
          requests.push({
            authorization: request.headers.authorization,
            ids: updates.map((update) => update.mbox3rdPartyId),
          });
          response.end(
            JSON.stringify({
              requestId: `r-${requests.length}`,
              batchId: `b-${requests.length}`,
              rows: updates.length,
            }),
          );
        } else {
          const batchId = decodeURIComponent(request.url!.split("/").pop()!);
          const failedIds = batchId === "b-2" ? ["r-5"] : [];
          response.end(JSON.stringify({ batchId, status: "complete", failedUpdates: failedIds.length, failedIds }));
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    folder.remove();
  });

  it("sends the rows in requests of --rows-per-file with the relay key, follows each batch, writes rejects and failed rows", async () => {
    const rows = Array.from({ length: 7 }, (_, i) => `r-${i},gold`).join("\n");
    writeFileSync(folder.path("relay.csv"), `mbox3rdPartyId,tier\n${rows}\nbad/id,x\n`);
    const answer = await run(["push", "relay.csv", "--via-relay", url, "--rows-per-file", "3", "--json"], {
      cwd: folder.dir,
      env: { RELAY_KEY: "relay-key-1" },
    });
    expect(answer.status).toBe(1);
    expect(requests).toEqual([
      { authorization: "Bearer relay-key-1", ids: ["r-0", "r-1", "r-2"] },
      { authorization: "Bearer relay-key-1", ids: ["r-3", "r-4", "r-5"] },
      { authorization: "Bearer relay-key-1", ids: ["r-6"] },
    ]);
    expect(JSON.parse(answer.stdout)).toMatchObject({
      rowsRead: 8,
      rowsRejected: 1,
      rowsSent: 7,
      rowsFailed: 1,
      batches: [
        { batchId: "b-1", lines: [2, 4], status: "complete" },
        { batchId: "b-2", lines: [5, 7], status: "complete" },
        { batchId: "b-3", lines: [8, 8], status: "complete" },
      ],
    });

    const noKey = await run(["push", "relay.csv", "--via-relay", url], { cwd: folder.dir, env: {} });
    expect([noKey.status, noKey.stderr]).toEqual([
      2,
      expect.stringContaining("--via-relay needs the relay key in RELAY_KEY"),
    ]);
  });
});
