import { isTargetHttpError, isTargetRejectedError } from "../../../src/index.js";
import { RelayBatchIdSchema } from "../../../src/internal/index.js";
import { RelayError } from "../../relay-error.js";
import { jsonResponse } from "../json-response.js";
import { pathParam } from "../path-params.js";
import type { ProtectedHandler } from "../route-handler.js";

/** `GET /v1/batches/{batchId}`: the batch's status with its counters and failed ids. Any scope. */
export const getBatch: ProtectedHandler = {
  scopes: ["write", "read"],
  maxBodyBytes: 0,
  async handle({ params, config }) {
    const batchId = pathParam("batchId", params.batchId ?? "", RelayBatchIdSchema);
    try {
      return jsonResponse(200, await config.target.getBatchStatus(batchId, { details: true }));
    } catch (error) {
      // Target answers 404 (with `success=false`) for a status it does not keep.
      if ((isTargetHttpError(error) || isTargetRejectedError(error)) && error.status === 404) {
        throw new RelayError(404, "not_found", "Target knows no such batch (statuses are kept about 24 hours)");
      }
      throw error;
    }
  },
};
