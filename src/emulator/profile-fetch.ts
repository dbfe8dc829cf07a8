// Profile Fetch: `GET /rest/v1/profiles/{thirdPartyId/ID | TNTID | marketingCloudVisitorId/ECID}?client=CC`.
import { decodePathSegment } from "./form-decoding.js";
import type { ProfileIdKind, ProfileStore } from "./profile-store.js";
import { jsonResponse, refusal } from "./responses.js";

// As documented for the first two; the third is not documented, so it follows their pattern.
const ID_WORDING: Record<ProfileIdKind, string> = {
  thirdPartyId: "third party id",
  tntId: "mboxPC",
  marketingCloudVisitorId: "marketing cloud visitor id",
};

export function handleProfileFetch(
  clientCode: string,
  idKind: ProfileIdKind,
  encodedId: string,
  store: ProfileStore,
): Response {
  let id: string;
  try {
    id = decodePathSegment(encodedId);
  } catch {
    return refusal("json", 400, "Malformed profile id");
  }
  const record = store.find(idKind, id);
  if (record === undefined) {
    return refusal("json", 404, `No profile found for client ${clientCode} with ${ID_WORDING[idKind]}=${id}`);
  }
  const profileAttributes = Object.fromEntries(
    store.attributes(record).map(([name, { value, modifiedAt }]) => [name, { value, modifiedAt }]),
  );
  return jsonResponse(200, { client: clientCode, visitorId: id, modifiedAt: record.modifiedAt, profileAttributes });
}
