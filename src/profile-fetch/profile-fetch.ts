import * as v from "valibot";
import { authHeaders, EndpointOptionsSchema, type Endpoint } from "../internal/endpoint.js";
import { TargetResponseError } from "../errors.js";
import { thirdPartyIdSchema, visitorIdSchema } from "../profile-update.js";
import { objectMessage } from "../internal/schemas.js";
import { parseOrThrow } from "../internal/validation.js";

/**
 * Which profile to fetch: by customer id, Target's own visitor id, or Experience Cloud id.
 * @example
 * const lookup: ProfileLookup = { thirdPartyId: "crm-42" };
 */
export type ProfileLookup =
  | { readonly thirdPartyId: string; readonly tntId?: never; readonly marketingCloudVisitorId?: never }
  | { readonly tntId: string; readonly thirdPartyId?: never; readonly marketingCloudVisitorId?: never }
  | { readonly marketingCloudVisitorId: string; readonly thirdPartyId?: never; readonly tntId?: never };

// URL parsers resolve "." and ".." segments (encoded or not), so such an id would fetch another path.
const notDotSegment = (field: string) =>
  v.check((id: string) => id !== "." && id !== "..", `${field} must not be "." or ".."`);

const ProfileLookupSchema = v.pipe(
  v.strictObject(
    {
      thirdPartyId: v.optional(v.pipe(thirdPartyIdSchema("thirdPartyId"), notDotSegment("thirdPartyId"))),
      tntId: v.optional(v.pipe(visitorIdSchema("tntId"), notDotSegment("tntId"))),
      marketingCloudVisitorId: v.optional(
        v.pipe(visitorIdSchema("marketingCloudVisitorId"), notDotSegment("marketingCloudVisitorId")),
      ),
    },
    objectMessage(
      "a lookup must be an object { thirdPartyId | tntId | marketingCloudVisitorId }",
      "unknown field: a lookup takes one of thirdPartyId, tntId or marketingCloudVisitorId",
    ),
  ),
  v.check(
    (lookup) => Object.values(lookup).filter((id) => id !== undefined).length === 1,
    "a lookup takes exactly one of thirdPartyId, tntId or marketingCloudVisitorId",
  ),
);

/** The documented fetch path of each id kind, the id as one encoded path segment. */
function profilePath(lookup: v.InferOutput<typeof ProfileLookupSchema>): string {
  if (lookup.thirdPartyId !== undefined) return `thirdPartyId/${encodeURIComponent(lookup.thirdPartyId)}`;
  if (lookup.marketingCloudVisitorId !== undefined) {
    return `marketingCloudVisitorId/${encodeURIComponent(lookup.marketingCloudVisitorId)}`;
  }
  return encodeURIComponent(lookup.tntId as string);
}

/**
 * Builds a Profile Fetch request without sending it.
 * @example
 * const request = buildProfileRequest({ thirdPartyId: "crm-42" }, { clientCode: "acme" });
 * // GET https://acme.tt.omtrdc.net/rest/v1/profiles/thirdPartyId/crm-42?client=acme
 */
export function buildProfileRequest(
  lookup: ProfileLookup,
  options: { readonly clientCode: string; readonly baseUrl?: string; readonly token?: string },
): Request {
  return profileRequest(lookup, parseOrThrow(EndpointOptionsSchema, options));
}

export function profileRequest(lookup: ProfileLookup, endpoint: Endpoint): Request {
  const path = profilePath(parseOrThrow(ProfileLookupSchema, lookup));
  const url = `${endpoint.baseUrl}/rest/v1/profiles/${path}?client=${encodeURIComponent(endpoint.clientCode)}`;
  return new Request(url, { headers: { ...authHeaders(endpoint), accept: "application/json" } });
}

const ProfileAttributeSchema = v.looseObject({
  value: v.union([v.string(), v.number(), v.boolean()]),
  modifiedAt: v.optional(v.string()),
});

export const TargetProfileSchema = v.looseObject({
  client: v.string(),
  visitorId: v.string(),
  modifiedAt: v.optional(v.string()),
  profileAttributes: v.optional(v.record(v.string(), ProfileAttributeSchema), {}),
});

/**
 * A profile as Target returns it; unknown fields are kept.
 * @example
 * const tier = profile?.profileAttributes.tier?.value;
 */
export type TargetProfile = v.InferOutput<typeof TargetProfileSchema>;

/**
 * Reads a Profile Fetch answer and checks it against the documented shape; throws `TargetResponseError`
 * naming the fields that do not fit (never their values).
 * @example
 * const profile = parseProfile(await response.text());
 * profile.profileAttributes["tier"]?.value;
 */
export function parseProfile(text: string): TargetProfile {
  const json = parseJson(text);
  if (json === undefined) throw new TargetResponseError("the answer is not JSON", "getProfile");
  const result = v.safeParse(TargetProfileSchema, json);
  // Only the paths are reported: the profile itself is personal data.
  if (!result.success) {
    const fields = result.issues.map((issue) => v.getDotPath(issue) ?? "(root)").join(", ");
    throw new TargetResponseError(`the profile does not have the documented shape (${fields})`, "getProfile");
  }
  return result.output;
}

/** Whether a 404's body is Target's own "no profile found" answer (`{"status":404,"message":…}`). */
export function isProfileNotFound(text: string): boolean {
  const body = parseJson(text);
  return typeof body === "object" && body !== null && (body as { status?: unknown }).status === 404;
}

/** The JSON value, or `undefined` when the text is not JSON. */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
