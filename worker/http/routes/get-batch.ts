import { isTargetHttpError, isTargetRejectedError, type BatchStatus } from "../../../src/index.js";
import { RelayBatchIdSchema } from "../../../src/internal/index.js";
import type { RelayConfig } from "../../config/relay-config.js";
import { takeRouteBulkCall } from "../../delivery/bulk-budget.js";
import { RelayError } from "../../relay-error.js";
import { cachedBatchStatus } from "../batch-status-cache.js";
import { jsonResponse } from "../json-response.js";
import { pathParam } from "../path-params.js";
import type { ProtectedHandler } from "../route-handler.js";

/**
 * `GET /v1/batches/{batchId}`: the batch's status with its counters and failed ids. Any scope. A status
 * read is a bulk call: it takes a slot of the bulk budget, within the share status reads may use (429 with
 * Retry-After beyond), and its answer is served again for a few seconds (batch-status-cache.ts).
 */
export const getBatch: ProtectedHandler = {
  scopes: ["write", "read"],
  maxBodyBytes: 0,
  async handle({ params, config }) {
    const batchId = pathParam("batchId", params.batchId ?? "", RelayBatchIdSchema);
    const status = await cachedBatchStatus(`${config.clientCode}\n${batchId}`, () => readStatus(config, batchId));
    if (status === undefined) {
      throw new RelayError(404, "not_found", "Target knows no such batch (statuses are kept about 24 hours)");
    }
    return jsonResponse(200, status);
  },
};

async function readStatus(config: RelayConfig, batchId: string): Promise<BatchStatus | undefined> {
  await takeRouteBulkCall(config, "status read");
  try {
    return await config.deliveryTarget.getBatchStatus(batchId, { details: true });
  } catch (error) {
    // Target answers 404 (with `success=false`) for a status it does not keep.
    if ((isTargetHttpError(error) || isTargetRejectedError(error)) && error.status === 404) return undefined;
    throw error;
  }
}
