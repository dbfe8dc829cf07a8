import * as v from "valibot";
import type { BatchBytes, BatchFile } from "./batch-file.js";
import { authHeaders, type Endpoint } from "../internal/endpoint.js";
import { TargetRejectedError, TargetResponseError, TargetValidationError } from "../errors.js";
import { MAX_BATCH_BYTES } from "../limits.js";
import { xmlText } from "../internal/xml.js";

/** v2 creates missing profiles and reports per row; v1 only updates existing profiles. */
export type BatchVersion = 1 | 2;

/** The `version` option of a submission: 2 unless told otherwise. */
export const BatchVersionSchema = v.optional(v.picklist([1, 2], "version must be 1 or 2"), 2);

/**
 * A batch Target accepted: its id and where its status is read.
 * @example
 * const { batchId, statusUrl } = await target.submitBatch(file);
 */
export interface BatchSubmission {
  /** Target's id of the batch, e.g. `acme-1701473848678-13029383`. */
  readonly batchId: string;
  /** Where Target said the status is (an edge host); followed only on trusted hosts. */
  readonly statusUrl: string;
  /** Target's message, e.g. `Batch submitted for processing`. */
  readonly message: string;
}

const SubmissionSchema = v.object({
  success: v.literal("true"),
  batchStatus: v.pipe(v.string(), v.url()),
  message: v.optional(v.string(), ""),
});

/**
 * Reads Target's answer to a batch submission: the XML one or the tag-stripped one
 * (`truehttp://…/batchStatus?batchId=…Batch submitted for processing`). Throws `TargetRejectedError`
 * on `success=false`.
 * @example
 * parseBatchSubmission("<response><success>true</success><batchStatus>https://mboxedge45.tt.omtrdc.net/m2/acme/v2/profile/batchStatus?batchId=acme-1-2</batchStatus><message>Batch submitted for processing</message></response>");
 * // { batchId: "acme-1-2", statusUrl: "https://…", message: "Batch submitted for processing" }
 */
export function parseBatchSubmission(text: string): BatchSubmission {
  const success = xmlText(text, "success");
  const fields =
    success === undefined
      ? strippedSubmission(text)
      : { success, batchStatus: xmlText(text, "batchStatus"), message: xmlText(text, "message") };
  if (fields.success === "false") throw new TargetRejectedError(fields.message || "no message", "submitBatch");
  const result = v.safeParse(SubmissionSchema, fields);
  const batchId = result.success ? new URL(result.output.batchStatus).searchParams.get("batchId") : null;
  if (!result.success || !batchId) throw new TargetResponseError("not a batch submission answer", "submitBatch");
  return { batchId, statusUrl: result.output.batchStatus, message: result.output.message };
}

const SUBMITTED = "Batch submitted for processing";

/** The fields of the tag-stripped answer, where the URL and the message may run together. */
function strippedSubmission(text: string) {
  const [, success, rest = ""] = /^\s*(true|false)([\s\S]*)$/.exec(text) ?? [];
  let body = rest.trim();
  let message = "";
  if (body.endsWith(SUBMITTED)) {
    message = SUBMITTED;
    body = body.slice(0, -SUBMITTED.length).trim();
  }
  const batchStatus = success === "true" ? /^https?:\/\/\S+/.exec(body)?.[0] : undefined;
  if (batchStatus === undefined) return { success, batchStatus, message: body || message };
  return {
    success,
    batchStatus: batchStatus.replaceAll("&amp;", "&"),
    message: message || body.slice(batchStatus.length).trim(),
  };
}

/**
 * The batch API version a file goes to. Adobe: when the account uses ECID, do not key a v2 file by
 * pcId; use v1. So with `usesEcid`, a pcId file goes to v1 whatever was asked.
 */
export function batchVersionFor(
  file: BatchFile | BatchBytes | string,
  version: BatchVersion,
  usesEcid: boolean,
): BatchVersion {
  if (!usesEcid) return version;
  const idType = typeof file === "string" ? /^batch=([^,&\r\n]*)/.exec(file)?.[1] : file.idType;
  return idType === "pcId" ? 1 : version;
}

/**
 * The documented batchUpdate request for one encoded file (or a body encoded elsewhere). A body of
 * bytes is copied into the request, so they can be reused at once; or with `stream`, read as it is
 * sent (see `streamedBody`), so they must stay as they are until the call settles.
 */
export function batchSubmitRequest(
  file: BatchFile | BatchBytes | string,
  endpoint: Endpoint,
  version: BatchVersion,
  stream = false,
): Request {
  const body = typeof file === "string" ? file : file.body;
  const start = typeof body === "string" ? body.slice(0, 6) : String.fromCharCode(...body.subarray(0, 6));
  if (start !== "batch=") throw invalidBody("a batch body must start with 'batch='");
  const bytes = typeof file === "string" ? new TextEncoder().encode(file).byteLength : file.bytes;
  if (bytes > MAX_BATCH_BYTES) throw invalidBody(`a batch file must be under 50 MB; this one is ${bytes} bytes`);
  const path = version === 2 ? "v2/profile/batchUpdate" : "profile/batchUpdate";
  const url = `${endpoint.baseUrl}/m2/${endpoint.clientCode}/${path}`;
  const headers = { ...authHeaders(endpoint), "content-type": "application/x-www-form-urlencoded" };
  if (!stream || typeof body === "string") return new Request(url, { method: "POST", headers, body });
  // Its length given, so that the wire is the same as for the bytes given whole: never chunked.
  // `duplex`, which fetch asks of a stream, is not in TypeScript's RequestInit: given by a spread.
  const init = { duplex: "half", body: streamedBody(body) };
  return new Request(url, { method: "POST", headers: { ...headers, "content-length": String(body.length) }, ...init });
}

// A socket write's worth: small enough to keep the upload moving, large enough to cost nothing.
const STREAM_CHUNK = 64 * 1024;

/**
 * `bytes` as a stream of views of them, read as they are sent: no copy. A retry resends them whole,
 * as ky sends a clone of the request each time, whose stream (a tee) hands out the same views again.
 * Only a fetch that streams a request body over HTTP/1.1 with the length given puts on the wire what
 * it sends for the bytes given whole: Node's and Bun's do; Deno's sends it chunked, browsers refuse it.
 */
function streamedBody(bytes: Uint8Array): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      controller.enqueue(bytes.subarray(at, (at += STREAM_CHUNK)));
      if (at >= bytes.length) controller.close();
    },
  });
}

const invalidBody = (message: string) => new TargetValidationError([{ path: "file", message }]);
