import { RelayIdSchema, type ProfileAnswer } from "../../../src/internal/index.js";
import { RelayError } from "../../relay-error.js";
import { jsonResponse } from "../json-response.js";
import { pathParam } from "../path-params.js";
import type { ProtectedHandler } from "../route-handler.js";

/**
 * `GET /v1/profiles/{mbox3rdPartyId}`: the profile, its attributes in the shape they are written
 * (`{ tier: "gold" }`; Target stores every value as a string).
 */
export const getProfile: ProtectedHandler = {
  scopes: ["read"],
  maxBodyBytes: 0,
  async handle({ params, config }) {
    const mbox3rdPartyId = pathParam("mbox3rdPartyId", params.mbox3rdPartyId ?? "", RelayIdSchema);
    const profile = await config.target.getProfile({ thirdPartyId: mbox3rdPartyId });
    if (profile === undefined) throw new RelayError(404, "not_found", "Target has no profile with this mbox3rdPartyId");
    const attributes = Object.fromEntries(
      Object.entries(profile.profileAttributes).map(([name, { value }]) => [name, value]),
    );
    const answer: ProfileAnswer = { mbox3rdPartyId, modifiedAt: profile.modifiedAt, attributes };
    return jsonResponse(200, answer);
  },
};
