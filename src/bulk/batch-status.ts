import * as v from "valibot";
import type { BatchSubmission } from "./batch-submission.js";
import { authHeaders, type Endpoint } from "../internal/endpoint.js";
import { TargetResponseError, TargetValidationError } from "../errors.js";
import { trustedUrl } from "../internal/trusted-host.js";
import { parseOrThrow } from "../internal/validation.js";
import { xmlElements, xmlText } from "../internal/xml.js";

/**
 * Which batch: what `submitBatch` returned, a batch id, or a status URL.
 * @example
 * await target.getBatchStatus("acme-1701473848678-13029383");
 */
export type BatchRef = BatchSubmission | string;

const count = v.optional(v.pipe(v.string(), v.regex(/^\d+$/), v.transform(Number)));

const BatchStatusSchema = v.object({
  batchId: v.pipe(v.string(), v.nonEmpty()),
  status: v.picklist(["complete", "incomplete", "stuck"]),
  batchSize: count,
  consumedCount: count,
  successfulUpdates: count,
  profilesNotFound: count,
  failedUpdates: count,
});

/**
 * A batch's progress. `batchSize` comes with every answer, the other counters when details were asked for.
 * @example
 * const { status, failedIds } = await target.getBatchStatus(submission, { details: true });
 */
export type BatchStatus = Omit<v.InferOutput<typeof BatchStatusSchema>, "failedUpdates"> & {
  readonly failedUpdates?: number | undefined;
  /** The ids Target listed as failed: any listed row whose status is not `success` or `pending`. */
  readonly failedIds: readonly string[];
};

const COUNTERS = ["batchSize", "consumedCount", "successfulUpdates", "profilesNotFound", "failedUpdates"] as const;

// Row statuses that are not failures. Target lists failed rows as `failed`; older v2 pages used
// `error` too, so any other status counts as failed (see docs/target-api.md).
const NOT_FAILED = new Set(["success", "pending"]);

/**
 * Reads a batchStatus answer (with or without `showDetails`; both may list failed rows).
 * @example
 * parseBatchStatus("<response><batchId>b1</batchId><status>complete</status></response>");
 * // { batchId: "b1", status: "complete", failedIds: [] }
 */
export function parseBatchStatus(text: string): BatchStatus {
  const fields: Record<string, string | undefined> = {
    batchId: xmlText(text, "batchId"),
    status: xmlText(text, "status"),
  };
  for (const counter of COUNTERS) {
    const value = xmlText(text, counter);
    if (value !== undefined) fields[counter] = value;
  }
  const result = v.safeParse(BatchStatusSchema, fields);
  if (!result.success) {
    const broken = result.issues.map((issue) => v.getDotPath(issue) ?? "(root)").join(", ");
    throw new TargetResponseError(`not a batch status answer (${broken})`, "getBatchStatus");
  }
  const failedIds = xmlElements(text, "profile")
    .filter((profile) => !NOT_FAILED.has(xmlText(profile, "status")?.toLowerCase() ?? ""))
    .flatMap((profile) => xmlText(profile, "id") ?? []);
  return { ...result.output, failedIds };
}

const BatchRefSchema = v.union(
  [
    v.pipe(v.string(), v.nonEmpty("batch must not be empty")),
    v.looseObject({ batchId: v.pipe(v.string(), v.nonEmpty()), statusUrl: v.string() }),
  ],
  "batch must be a batch id, a status URL, or what submitBatch returned",
);

/**
 * The request for a batch's status. Target's status URLs point at edge hosts; one is followed only
 * when it is on the configured host (with the configured scheme) or under .tt.omtrdc.net (always over
 * https), so the token never goes anywhere else. Otherwise the documented URL is built from the id
 * on the configured host.
 */
export function batchStatusRequest(ref: BatchRef, endpoint: Endpoint, options: { details: boolean }): Request {
  const checked = parseOrThrow(BatchRefSchema, ref);
  const given =
    typeof checked === "string"
      ? /^https?:\/\//i.test(checked)
        ? { statusUrl: checked }
        : { batchId: checked }
      : checked;
  const statusUrl = "statusUrl" in given ? parseUrl(given.statusUrl) : undefined;
  const batchId = "batchId" in given ? given.batchId : statusUrl?.searchParams.get("batchId");
  if (!batchId) throw new TargetValidationError([{ path: "batch", message: "a status URL must carry a batchId" }]);

  const url =
    (statusUrl && trustedUrl(statusUrl, endpoint)) ??
    new URL(`${endpoint.baseUrl}/m2/${endpoint.clientCode}/profile/batchStatus`);
  url.searchParams.set("batchId", batchId);
  if (options.details) url.searchParams.set("showDetails", "true");
  else url.searchParams.delete("showDetails");
  return new Request(url, { headers: authHeaders(endpoint) });
}

function parseUrl(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}
