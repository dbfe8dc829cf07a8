// The relay's worst cases, measured (issue 10): what checking a request's signature costs at its largest
// (a 4 MB body, MAX_SIGNATURES values, MAX signing secrets, none matching, so every check runs), and how
// many bytes of batch file one byte of a batch request becomes, for request shapes from the usual to the
// worst the relay still takes (and the one it refuses).
//
//   npm run bench:relay
import process from "node:process";
import {
  importSigningKey,
  MAX_SIGNATURES,
  RELAY_HEADERS,
  signatureHeaders,
  signatureProblem,
  type SignedRequest,
} from "../src/internal/index.js";
import { encodeBatches, type RelayProfileUpdate } from "../src/index.js";
import { FILE_BYTES_PER_REQUEST_BYTE, oneBatchFile } from "../worker/delivery/one-batch-file.js";

const MAX_SECRETS = 5; // RELAY_SIGNING_SECRETS holds at most 5 (worker/config/parse-env.ts)
const encoder = new TextEncoder();

async function signatureCheck(): Promise<void> {
  // A 4 MB JSON body (the batch route's limit), as a relay reads it.
  const row = JSON.stringify({ mbox3rdPartyId: "crm-00000", attributes: { tier: "gold", ltv: 1200 } });
  const body = encoder.encode(
    `{"updates":[${Array(Math.floor((4 * 1024 * 1024 - 20) / (row.length + 1)))
      .fill(row)
      .join(",")}]}`,
  );
  const request: SignedRequest = { method: "POST", url: "https://relay.example/v1/profiles", body };
  const keys = await Promise.all(
    Array.from({ length: MAX_SECRETS }, (_, index) =>
      importSigningKey(`relay-secret-${index}-0123456789abcdef0123`, "verify"),
    ),
  );
  // Signed with another secret: no value matches, so every value is checked against every secret.
  const signed = await signatureHeaders(await importSigningKey("some-other-secret-0123456789abcdef", "sign"), request);
  const value = signed[RELAY_HEADERS.signature] as string;
  const headers = new Headers({ ...signed, [RELAY_HEADERS.signature]: Array(MAX_SIGNATURES).fill(value).join(",") });

  const times: number[] = [];
  for (let run = 0; run < 25; run++) {
    const start = performance.now();
    const problem = await signatureProblem(headers, request, keys);
    times.push(performance.now() - start);
    if (problem !== "the request signature does not match") throw new Error(`unexpected: ${problem}`);
  }
  times.sort((a, b) => a - b);
  console.log(
    `signature check, ${(body.byteLength / 1024 / 1024).toFixed(2)} MB body, ${MAX_SIGNATURES} values × ${MAX_SECRETS} secrets, none matching: ` +
      `median ${times[12]?.toFixed(1)} ms, slowest ${times.at(-1)?.toFixed(1)} ms (25 runs)`,
  );
  // Past the limits: refused from the headers alone.
  const many = new Headers({ ...signed, [RELAY_HEADERS.signature]: Array(1000).fill(value).join(",") });
  const start = performance.now();
  const refused = await signatureProblem(many, request, keys);
  console.log(`1,000 values: "${refused}" in ${(performance.now() - start).toFixed(2)} ms`);
}

function fileRatios(): void {
  const shapes: [string, number, (index: number) => Record<string, string | number | boolean>][] = [
    ["3 shared attributes (a typical CRM push)", 10_000, (i) => ({ tier: `t${i % 4}`, ltv: i, vip: i % 2 === 0 })],
    ["values that percent-encode to 3 bytes a byte", 2_000, () => ({ note: " ".repeat(200), city: "ü€𝄞".repeat(20) })],
    ["numbers whose digits outgrow their JSON (1e15)", 10_000, () => ({ a: 1e15, b: 9e15, c: -1e15 })],
    [
      "names of their own beside long shared ones, 120 visitors",
      120,
      (i) => ({ [`attribute-${i}`]: "x", tier: "gold", notes: "n".repeat(120) }),
    ],
    [
      "a distinct attribute per visitor, 5,000 visitors (like the issue's 363 KB one)",
      5_000,
      (i) => ({ [`a-distinct-attribute-${i}`]: `v${i}` }),
    ],
  ];
  for (const [name, count, attributes] of shapes) {
    const updates: RelayProfileUpdate[] = Array.from({ length: count }, (_, index) => ({
      mbox3rdPartyId: `visitor-${index}`,
      attributes: attributes(index),
    }));
    const requestBytes = encoder.encode(JSON.stringify({ updates })).byteLength;
    try {
      const file = oneBatchFile(updates, { maxRows: 10_000, requestBytes });
      console.log(
        `${name}: ${(requestBytes / 1024).toFixed(0)} KB request → ${(file.bytes / 1024).toFixed(0)} KB file, ${(file.bytes / requestBytes).toFixed(2)} bytes per byte`,
      );
    } catch (error) {
      // What the encoder alone makes of it: files Target would take (the relay answers one batch id).
      let files = 0;
      let bytes = 0;
      for (const file of encodeBatches(updates)) [files, bytes] = [files + 1, bytes + file.bytes];
      console.log(
        `${name}: ${(requestBytes / 1024).toFixed(0)} KB request → refused (${(error as Error).message.slice(0, 50)}…); ` +
          `the encoder alone makes ${files} file(s), ${(bytes / 1024 / 1024).toFixed(1)} MB, ${(bytes / requestBytes).toFixed(2)} bytes per byte`,
      );
    }
  }
  console.log(`(the relay refuses any request whose file would pass ${FILE_BYTES_PER_REQUEST_BYTE} bytes per byte)`);
}

await signatureCheck();
fileRatios();
process.exit(0);
