import * as v from "valibot";
import type { ProfileUpdate } from "../../src/index.js";
import { ProfileUpdateSchema } from "../../src/profile-update.js";
import { formatPath, parseOrThrow } from "../../src/validation.js";
import { refuseUnlistedAttributes } from "../attribute-allow-list.js";
import type { ProtectedEndpoint } from "../endpoint.js";
import { jsonResponse } from "../json-response.js";
import { Mbox3rdPartyIdSchema, pathParam } from "../path-params.js";

// The attributes themselves are checked with the id, by the core's own schema.
const BodySchema = v.strictObject({ attributes: v.unknown() }, (issue) =>
  issue.expected === "never" ? "unknown field: the body takes only attributes" : issue.path ? "is required" : "the body must be { attributes }",
);

/** `POST /v1/profiles/{mbox3rdPartyId}` with `{ attributes }`: one Single Profile Update (update-only at Target). */
export const updateProfile: ProtectedEndpoint = {
  scopes: ["write"],
  maxBodyBytes: 64 * 1024,
  async handle({ requestId, params, body, config, log }) {
    const { attributes } = parseOrThrow(BodySchema, body);
    const mbox3rdPartyId = pathParam("mbox3rdPartyId", params.mbox3rdPartyId ?? "", Mbox3rdPartyIdSchema);
    const update = { mbox3rdPartyId, attributes } as ProfileUpdate;
    const checked = parseOrThrow(ProfileUpdateSchema, update);
    refuseUnlistedAttributes(config.allowedAttributes, [update], (_, name) => formatPath([{ key: "attributes" }, { key: name }]));
    log.updates = 1;
    log.attributes = checked.attributes.length;

    await config.target.updateProfile(update);
    return jsonResponse(202, { requestId });
  },
};
