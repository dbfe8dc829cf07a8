import * as v from "valibot";
import type { BatchSubmission, BatchVersion } from "./batch-submission.js";
import { authHeaders, type Endpoint } from "./endpoint.js";
import { TargetResponseError, TargetValidationError } from "./errors.js";
import { xmlElements, xmlText } from "./xml.js";

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
 * A batch's progress. Counters are present when details were asked for.
 * @example
 * const { status, failedIds } = await target.getBatchStatus(submission, { details: true });
 */
export type BatchStatus = Omit<v.InferOutput<typeof BatchStatusSchema>, "failedUpdates"> & {
  readonly failedUpdates?: number | undefined;
  /** The ids Target listed as failed (details only). */
  readonly failedIds: readonly string[];
};

const COUNTERS = ["batchSize", "consumedCount", "successfulUpdates", "profilesNotFound", "failedUpdates"] as const;

/**
 * Reads a batchStatus answer (with or without `showDetails`).
 * @example
 * parseBatchStatus("<response><batchId>b1</batchId><status>complete</status></response>");
 * // { batchId: "b1", status: "complete", failedIds: [] }
 */
export function parseBatchStatus(text: string): BatchStatus {
  const fields: Record<string, string | undefined> = { batchId: xmlText(text, "batchId"), status: xmlText(text, "status") };
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
    .filter((profile) => xmlText(profile, "status")?.toLowerCase() === "failed")
    .flatMap((profile) => xmlText(profile, "id") ?? []);
  return { ...result.output, failedIds };
}

const EDGE_DOMAIN = ".tt.omtrdc.net";

/**
 * The URL to read a batch's status from. Target's status URLs point at edge hosts; one is followed
 * only when it is on the configured host or under .tt.omtrdc.net (over https when the client uses
 * https), so the token never goes anywhere else. Otherwise the URL is built from the batch id.
 */
export function batchStatusRequest(ref: BatchRef, endpoint: Endpoint, options: { details: boolean; version: BatchVersion }): Request {
  const given = typeof ref === "string" ? (/^https?:\/\//i.test(ref) ? { statusUrl: ref } : { batchId: ref }) : ref;
  const followed = "statusUrl" in given ? trustedStatusUrl(given.statusUrl, endpoint) : undefined;
  const batchId = "batchId" in given ? given.batchId : followed?.searchParams.get("batchId") ?? batchIdOf(given.statusUrl);
  if (!batchId) throw new TargetValidationError([{ path: "batch", message: "a batch reference needs a batch id" }]);

  const path = options.version === 2 ? "v2/profile/batchStatus" : "profile/batchStatus";
  const url = followed ?? new URL(`${endpoint.baseUrl}/m2/${endpoint.clientCode}/${path}`);
  url.searchParams.set("batchId", batchId);
  if (options.details) url.searchParams.set("showDetails", "true");
  else url.searchParams.delete("showDetails");
  return new Request(url, { headers: authHeaders(endpoint) });
}

function trustedStatusUrl(statusUrl: string, endpoint: Endpoint): URL | undefined {
  let url: URL;
  try {
    url = new URL(statusUrl);
  } catch {
    return undefined;
  }
  const configured = new URL(endpoint.baseUrl);
  const trusted = url.host === configured.host || url.hostname.endsWith(EDGE_DOMAIN);
  if (!trusted || url.username || url.password) return undefined;
  if (configured.protocol === "https:") url.protocol = "https:";
  return url;
}

function batchIdOf(statusUrl: string): string | null {
  try {
    return new URL(statusUrl).searchParams.get("batchId");
  } catch {
    return null;
  }
}
