import * as v from "valibot";
import type { ProfileUpdate } from "../../../src/index.js";
import { ProfileUpdateSchema, formatPath, parseOrThrow } from "../../../src/internal/index.js";
import { refuseUnlistedAttributes } from "../../auth/attribute-allow-list.js";
import { deliverUpdate } from "../../delivery/deliver-update.js";
import type { ProtectedEndpoint } from "../route-handler.js";
import { jsonResponse } from "../json-response.js";
import { Mbox3rdPartyIdSchema, pathParam } from "../path-params.js";

// The attributes themselves are checked with the id, by the core's own schema.
const BodySchema = v.strictObject({ attributes: v.unknown() }, (issue) =>
  issue.expected === "never"
    ? "unknown field: the body takes only attributes"
    : issue.path
      ? "is required"
      : "the body must be { attributes }",
);

/**
 * `POST /v1/profiles/{mbox3rdPartyId}` with `{ attributes }`: one Single Profile Update (update-only
 * at Target), or queued (RELAY_DELIVERY, deliver-update.ts): `202 { requestId }`, plus `queued: 1`
 * when it was queued.
 */
export const updateProfile: ProtectedEndpoint = {
  scopes: ["write"],
  maxBodyBytes: 64 * 1024,
  idempotent: true,
  async handle({ requestId, params, body, config, log }) {
    const { attributes } = parseOrThrow(BodySchema, body);
    const mbox3rdPartyId = pathParam("mbox3rdPartyId", params.mbox3rdPartyId ?? "", Mbox3rdPartyIdSchema);
    const update = { mbox3rdPartyId, attributes } as ProfileUpdate;
    const checked = parseOrThrow(ProfileUpdateSchema, update);
    refuseUnlistedAttributes(config.allowedAttributes, [update], (_, name) =>
      formatPath([{ key: "attributes" }, { key: name }]),
    );
    log.updates = 1;
    log.attributes = checked.attributes.length;

    log.delivery = await deliverUpdate(config, mbox3rdPartyId, update.attributes, log);
    return jsonResponse(202, log.delivery === "queued" ? { requestId, queued: 1 } : { requestId });
  },
};
