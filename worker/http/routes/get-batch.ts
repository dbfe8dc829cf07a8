import * as v from "valibot";
import { isTargetHttpError, isTargetRejectedError } from "../../../src/index.js";
import type { ProtectedEndpoint } from "../route-handler.js";
import { jsonResponse } from "../json-response.js";
import { pathParam } from "../path-params.js";
import { RelayError } from "../../relay-error.js";

// Target's batch ids look like `acme-1701473848678-13029383`.
const BatchIdSchema = v.pipe(
  v.string(),
  v.regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/, "must be a batch id: letters, digits, '.', '_' or '-'"),
);

/** `GET /v1/batches/{batchId}`: the batch's status with its counters and failed ids. Any scope. */
export const getBatch: ProtectedEndpoint = {
  scopes: ["write", "read"],
  maxBodyBytes: 0,
  async handle({ params, config }) {
    const batchId = pathParam("batchId", params.batchId ?? "", BatchIdSchema);
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
