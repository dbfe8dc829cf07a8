// Bulk Profile Update and Batch Status. Rows are applied at submission; the status only reports.
import { parseBatchBody, type ParsedBatch } from "./batch-parsing.js";
import { BATCH_RETENTION_MS, isValidThirdPartyId } from "./limits.js";
import type { ProfileStore } from "./profile-store.js";
import { escapeXml, isFormBody, refusal, xmlResponse } from "./responses.js";
import { queryField } from "./routing.js";

interface BatchOutcome {
  submittedAt: number;
  polls: number;
  batchSize: number;
  successfulUpdates: number;
  profilesNotFound: number;
  failedIds: string[];
}

export interface BatchServiceOptions {
  store: ProfileStore;
  failedRowIds: ReadonlySet<string>;
  now: () => number;
  pollsUntilComplete: number;
  edgeHost: string;
  statusUrls: "edge" | "request";
}

export interface BatchService {
  submit(request: Request, body: Uint8Array, clientCode: string, version: 1 | 2): Response;
  status(url: URL): Response;
  clear(): void;
}

export function createBatchService(options: BatchServiceOptions): BatchService {
  const { store, now } = options;
  const batches = new Map<string, BatchOutcome>();
  let sequence = 0;

  function apply(batch: ParsedBatch, version: 1 | 2, at: string): Omit<BatchOutcome, "submittedAt" | "polls"> {
    const kind = batch.idType === "pcId" ? "tntId" : "thirdPartyId";
    const outcome = { batchSize: batch.size, successfulUpdates: 0, profilesNotFound: 0, failedIds: [] as string[] };
    for (const { id, attributes } of batch.rows()) {
      if (options.failedRowIds.has(id) || (kind === "thirdPartyId" ? !isValidThirdPartyId(id) : id === "")) {
        outcome.failedIds.push(id);
        continue;
      }
      // v2 creates missing profiles; v1 only updates existing ones.
      const record = store.find(kind, id) ?? (version === 2 ? store.create(kind, id, at) : undefined);
      if (record === undefined) {
        outcome.profilesNotFound++;
        continue;
      }
      store.setAttributes(record, attributes, at);
      outcome.successfulUpdates++;
    }
    return outcome;
  }

  return {
    submit(request, body, clientCode, version) {
      if (!isFormBody(request)) return refusal("xml", 400, "Content-Type must be application/x-www-form-urlencoded");
      const parsed = parseBatchBody(body);
      if (!parsed.ok) return refusal("xml", 400, parsed.message);
      const submittedAt = now();
      const batchId = `${clientCode}-${submittedAt}-${++sequence}`;
      batches.set(batchId, {
        submittedAt,
        polls: 0,
        ...apply(parsed.batch, version, new Date(submittedAt).toISOString()),
      });
      // Documented: the status URL is on an edge host (or, on request, where the batch came in), at the
      // same path for v1 and v2 batches.
      const origin = options.statusUrls === "request" ? new URL(request.url).origin : `https://${options.edgeHost}`;
      const statusUrl = `${origin}/m2/${clientCode}/profile/batchStatus?batchId=${encodeURIComponent(batchId)}`;
      return xmlResponse(
        200,
        `<response><success>true</success><batchStatus>${escapeXml(statusUrl)}</batchStatus>` +
          `<message>Batch submitted for processing</message></response>`,
      );
    },

    status(url) {
      const batchId = queryField(url, "batchId");
      if (!batchId) return refusal("xml", 400, "Missing batchId");
      const batch = batches.get(batchId);
      if (batch === undefined || now() - batch.submittedAt > BATCH_RETENTION_MS) {
        return refusal("xml", 404, "Batch not found");
      }
      const complete = ++batch.polls > options.pollsUntilComplete;
      let xml = `<response><batchId>${escapeXml(batchId)}</batchId><status>${complete ? "complete" : "incomplete"}</status>`;
      if (queryField(url, "showDetails") === "true") {
        // Counters are only final once the batch is complete.
        const count = (value: number) => (complete ? value : 0);
        xml +=
          `<batchSize>${batch.batchSize}</batchSize><consumedCount>${count(batch.batchSize)}</consumedCount>` +
          `<successfulUpdates>${count(batch.successfulUpdates)}</successfulUpdates>` +
          `<profilesNotFound>${count(batch.profilesNotFound)}</profilesNotFound>` +
          `<failedUpdates>${count(batch.failedIds.length)}</failedUpdates>`;
        if (complete) {
          for (const id of batch.failedIds)
            xml += `<profile><id>${escapeXml(id)}</id><status>failed</status></profile>`;
        }
      }
      return xmlResponse(200, `${xml}</response>`);
    },

    clear() {
      batches.clear();
    },
  };
}
