import {
  formatPath,
  parseOrThrow,
  RELAY_ROUTES,
  relayPath,
  RelayUpdateSchema,
  UpdateProfilesShapeSchema,
  type BatchAnswer,
} from "../../../src/internal/index.js";
import { refuseUnlistedAttributes } from "../../auth/attribute-allow-list.js";
import { deliverBatch } from "../../delivery/deliver-batch.js";
import { jsonResponse } from "../json-response.js";
import { parseItems } from "../parse-items.js";
import { attributeCount } from "../request-log.js";
import type { ProtectedHandler } from "../route-handler.js";

/**
 * `POST /v1/profiles` with `{ updates: [{ mbox3rdPartyId, attributes }, ...] }`: checked once, then one
 * v2 batch file, or queued (RELAY_DELIVERY, delivery/deliver-batch.ts): `202 { requestId, batchId,
 * rows }` with the batch's `Location`, or `202 { requestId, rows, queued }`.
 */
export const updateProfiles: ProtectedHandler = {
  scopes: ["write"],
  maxBodyBytes: 4 * 1024 * 1024,
  idempotent: true,
  async handle({ requestId, body, bodyBytes, config, log }) {
    const updates = parseItems(RelayUpdateSchema, parseOrThrow(UpdateProfilesShapeSchema, body).updates, "updates");
    // Every name as sent, `null`-valued ones too (the schema drops none: reserved names are refused).
    refuseUnlistedAttributes(config.allowedAttributes, updates, (index, name) =>
      formatPath([{ key: "updates" }, { key: index }, { key: "attributes" }, { key: name }]),
    );
    log.updates = updates.length;
    log.attributes = updates.reduce((sum, update) => sum + attributeCount(update), 0);

    const delivery = await deliverBatch(config, updates, bodyBytes, log);
    log.rows = delivery.rows;
    log.delivery = delivery.via;
    if (delivery.via === "queued") {
      const answer: BatchAnswer = { requestId, rows: delivery.rows, queued: delivery.queued };
      return jsonResponse(202, answer);
    }
    const answer: BatchAnswer = { requestId, batchId: delivery.batchId, rows: delivery.rows };
    return jsonResponse(202, answer, { location: relayPath(RELAY_ROUTES.batch, { batchId: delivery.batchId }) });
  },
};
