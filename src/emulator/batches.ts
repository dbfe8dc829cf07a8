// Bulk Profile Update and Batch Status. A batch's rows are applied once it becomes visible (at once
// by default), a slice at a time, and before anything reads a profile; its status reads `complete`
// from then on (a v2 batch's counts are known before its rows are in), and only the last statuses
// of each client are kept.
import type { BatchCheck, BatchRow, ParsedBatch } from "./batch-parsing.js";
import { BATCH_STATUS_RETENTION_MS, KEPT_BATCH_STATUSES } from "../limits.js";
import type { ConsecutiveBatchWriter } from "./consecutive-batches.js";
import { isPlainValidThirdPartyId, isValidThirdPartyId } from "./limits.js";
import type { PendingWrites } from "./pending-writes.js";
import type { ProfileRecord, ProfileStore } from "./profile-store.js";
import { escapeXml, isFormBody, refusal, xmlResponse } from "./responses.js";
import { queryField } from "./routing.js";

/** Rows applied in one slice: about 10 ms, after which the network is looked at again. */
const SLICE_ROWS = 10_000;

/** What a batch did to the profiles, known once it is applied. */
interface BatchResult {
  successfulUpdates: number;
  profilesNotFound: number;
  failedIds: string[];
}

interface BatchOutcome {
  submittedAt: number;
  polls: number;
  batchSize: number;
  /** Undefined until the batch's rows are applied. */
  result?: BatchResult;
  /** What its status reads once it is visible: known before it is applied for a v2 batch. */
  settle?: (() => BatchResult | undefined) | undefined;
}

export interface BatchServiceOptions {
  store: ProfileStore;
  failedRowIds: ReadonlySet<string>;
  now: () => number;
  pollsUntilComplete: number;
  edgeHost: string;
  statusUrls: "edge" | "request";
  pending: PendingWrites;
  /** Milliseconds before a batch's rows are applied. */
  visibilityDelay: number;
  v2Writer: ConsecutiveBatchWriter;
}

export interface BatchService {
  /** Answers a batch upload: `check` has seen `body` as it arrived (or nothing of it). */
  submit(request: Request, body: Uint8Array, check: BatchCheck, clientCode: string, version: 1 | 2): Response;
  status(url: URL): Response;
  clear(): void;
}

export function createBatchService(options: BatchServiceOptions): BatchService {
  const { store, now } = options;
  const batches = new Map<string, BatchOutcome>();
  // Per client code, its batch ids oldest first: Target keeps only the last few statuses.
  const keptIds = new Map<string, string[]>();
  let sequence = 0;

  /** Whether the row of `id` fails: its id is refused, or made to fail. */
  function fails(idType: ParsedBatch["idType"], id: string): boolean {
    if (options.failedRowIds.size > 0 && options.failedRowIds.has(id)) return true;
    return idType === "thirdPartyId" ? !isValidThirdPartyId(id) : id === "";
  }

  /**
   * A batch's rows to apply, a slice at a time (see PendingWrites): each call applies the next
   * slice and answers whether that was the last; the batch's result is kept then.
   */
  function applying(batch: ParsedBatch, version: 1 | 2, batchId: string, at: string, outcome: BatchOutcome) {
    const kind = batch.idType === "pcId" ? "tntId" : "thirdPartyId";
    const result: BatchResult = { successfulUpdates: 0, profilesNotFound: 0, failedIds: [] };
    // The store keeps each row where it lies in the body, as one write for the whole batch.
    const write = store.newWrite(at);
    // v2 may make a profile for each row; v1 makes none.
    store.reserve(kind, version === 2 ? batch.size : 0, batch.size);
    const { source } = batch;
    const rows = batch.rows();
    const names: string[] = [];
    let row: BatchRow;
    const setRow = (record: ProfileRecord) => store.setRow(record, source, row.start, row.columns, row.count, write);
    return (): boolean => {
      for (let applied = 0; applied < SLICE_ROWS; applied++) {
        const next = rows.next();
        if (next.done) {
          outcome.result = result;
          // Its status no longer needs the batch (nor to keep its body).
          outcome.settle = undefined;
          return true;
        }
        row = next.value;
        const { id } = row;
        if (fails(batch.idType, id)) {
          result.failedIds.push(id);
          continue;
        }
        // v2 creates missing profiles; v1 only updates existing ones.
        const record = store.find(kind, id) ?? (version === 2 ? store.create(kind, id, at) : undefined);
        if (record === undefined) {
          result.profilesNotFound++;
          continue;
        }
        if (version === 2 && kind === "thirdPartyId" && options.v2Writer.chains) {
          names.length = row.count;
          for (let i = 0; i < row.count; i++) names[i] = source.columns[row.columns[i]!]!;
          options.v2Writer.apply(record, batchId, names, setRow);
        } else {
          setRow(record);
        }
        result.successfulUpdates++;
      }
      return false;
    };
  }

  /**
   * A visible v2 batch's counts, without applying it: it makes every profile it misses, so only the
   * rows whose id is refused, or made to fail, fail; the rest succeed. (Rows are applied as they
   * were then: the ids made to fail change only once every visible batch is applied.) Only ids not
   * plainly valid as they lie in the body are decoded.
   */
  function predict(batch: ParsedBatch): BatchResult {
    const customer = batch.idType === "thirdPartyId";
    const suspect = (body: Uint8Array, from: number, to: number) =>
      options.failedRowIds.size > 0 || (customer ? !isPlainValidThirdPartyId(body, from, to) : from === to);
    const failedIds = batch.idsWhere(suspect).filter((id) => fails(batch.idType, id));
    return { successfulUpdates: batch.size - failedIds.length, profilesNotFound: 0, failedIds };
  }

  function keep(clientCode: string, batchId: string, outcome: BatchOutcome): void {
    batches.set(batchId, outcome);
    const ids = keptIds.get(clientCode) ?? [];
    keptIds.set(clientCode, ids);
    ids.push(batchId);
    if (ids.length > KEPT_BATCH_STATUSES) batches.delete(ids.shift()!);
  }

  return {
    submit(request, body, check, clientCode, version) {
      if (!isFormBody(request)) return refusal("xml", 400, "Content-Type must be application/x-www-form-urlencoded");
      const parsed = check.finish(body);
      if (!parsed.ok) return refusal("xml", parsed.status, parsed.message);
      const { batch } = parsed;
      const submittedAt = now();
      const batchId = `${clientCode}-${submittedAt}-${++sequence}`;
      const outcome: BatchOutcome = { submittedAt, polls: 0, batchSize: batch.size };
      keep(clientCode, batchId, outcome);
      // A batch of only empty values is ignored entirely: nothing to apply, complete at once, all counters 0.
      if (batch.size === 0) outcome.result = { successfulUpdates: 0, profilesNotFound: 0, failedIds: [] };
      else {
        const visibleAt = options.pending.add(options.visibilityDelay, (at) =>
          applying(batch, version, batchId, new Date(at).toISOString(), outcome),
        );
        let predicted: BatchResult | undefined;
        outcome.settle = () => {
          if (outcome.result || now() < visibleAt) return outcome.result;
          if (version === 2) return (predicted ??= predict(batch));
          options.pending.applyDue();
          return outcome.result;
        };
      }
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
      if (batch === undefined || now() - batch.submittedAt > BATCH_STATUS_RETENTION_MS) {
        return refusal("xml", 404, "Batch not found");
      }
      const polled = ++batch.polls > options.pollsUntilComplete;
      const skipped = batch.batchSize === 0;
      // Complete once visible (its counts are known from then on), after the configured polls.
      const result = (polled || skipped) && (batch.result ?? batch.settle?.());
      let xml =
        `<response><batchId>${escapeXml(batchId)}</batchId><status>${result ? "complete" : "incomplete"}</status>` +
        `<batchSize>${batch.batchSize}</batchSize>`;
      if (queryField(url, "showDetails") === "true") {
        xml +=
          `<consumedCount>${result ? batch.batchSize : 0}</consumedCount>` +
          `<successfulUpdates>${result ? result.successfulUpdates : 0}</successfulUpdates>` +
          `<profilesNotFound>${result ? result.profilesNotFound : 0}</profilesNotFound>` +
          `<failedUpdates>${result ? result.failedIds.length : 0}</failedUpdates>`;
      }
      // Failed rows are listed in the default answer too (Adobe's samples, since May 2020).
      if (result) {
        for (const id of result.failedIds) xml += `<profile><id>${escapeXml(id)}</id><status>failed</status></profile>`;
      }
      return xmlResponse(200, `${xml}</response>`);
    },

    clear() {
      batches.clear();
      keptIds.clear();
    },
  };
}
