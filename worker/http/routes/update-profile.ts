import {
  formatPath,
  parseOrThrow,
  RelayUpdateSchema,
  UpdateProfileBodySchema,
  type UpdateAnswer,
} from "../../../src/internal/index.js";
import { refuseUnlistedAttributes } from "../../auth/attribute-allow-list.js";
import { deliverUpdate } from "../../delivery/deliver-update.js";
import { jsonResponse } from "../json-response.js";
import { decodePathParam } from "../path-params.js";
import { attributeCount } from "../request-log.js";
import type { ProtectedHandler } from "../route-handler.js";

/**
 * `POST /v1/profiles/{mbox3rdPartyId}` with `{ attributes }`: checked once (the body's shape, then the
 * update with its id), then one Single Profile Update (update-only at Target), one Delivery API call
 * (realtime), or queued (RELAY_DELIVERY, delivery/deliver-update.ts): `202 { requestId, via }`, `via`
 * naming the path that took it, plus `queued: 1` when it was queued.
 */
export const updateProfile: ProtectedHandler = {
  scopes: ["write"],
  maxBodyBytes: 64 * 1024,
  idempotent: true,
  async handle({ requestId, params, body, config, log }) {
    const { attributes } = parseOrThrow(UpdateProfileBodySchema, body);
    const mbox3rdPartyId = decodePathParam("mbox3rdPartyId", params.mbox3rdPartyId ?? "");
    const update = parseOrThrow(RelayUpdateSchema, { mbox3rdPartyId, attributes });
    // Every name as sent, `null`-valued ones too (the schema drops none: reserved names are refused).
    refuseUnlistedAttributes(config.allowedAttributes, [update], (_, name) =>
      formatPath([{ key: "attributes" }, { key: name }]),
    );
    log.updates = 1;
    log.attributes = attributeCount(update);

    log.delivery = await deliverUpdate(config, update, log);
    const answer: UpdateAnswer =
      log.delivery === "queued"
        ? { requestId, queued: 1, via: "queued" }
        : { requestId, via: log.delivery === "realtime" ? "realtime" : "single-update" };
    return jsonResponse(202, answer);
  },
};
