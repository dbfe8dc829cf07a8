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

// Today's answer names the profile `visitorId`; older ones (still documented in Adobe's legacy guide)
// give `mboxPC`, plus `thirdPartyId` when fetched by it, and may say `clientCode` for `client`. Both
// are read into the same shape: `visitorId` is then the id the profile was fetched by (docs/target-api.md).
export const TargetProfileSchema = v.pipe(
  v.looseObject({
    client: v.optional(v.string()),
    clientCode: v.optional(v.string()),
    visitorId: v.optional(v.string()),
    thirdPartyId: v.optional(v.string()),
    mboxPC: v.optional(v.string()),
    modifiedAt: v.optional(v.string()),
    profileAttributes: v.optional(v.record(v.string(), ProfileAttributeSchema), {}),
  }),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const profile = dataset.value;
    const missing = (key: string) =>
      addIssue({
        message: "missing",
        path: [{ type: "object", origin: "value", input: profile, key, value: undefined }],
      });
    if (profile.client === undefined && profile.clientCode === undefined) missing("client");
    if (profile.visitorId === undefined && profile.thirdPartyId === undefined && profile.mboxPC === undefined) {
      missing("visitorId");
    }
  }),
  v.transform(({ client, clientCode, visitorId, thirdPartyId, mboxPC, ...rest }) => ({
    ...rest,
    ...(clientCode !== undefined && { clientCode }),
    ...(thirdPartyId !== undefined && { thirdPartyId }),
    ...(mboxPC !== undefined && { mboxPC }),
    client: (client ?? clientCode) as string,
    visitorId: (visitorId ?? thirdPartyId ?? mboxPC) as string,
  })),
);

/**
 * A profile as Target returns it; unknown fields are kept. `thirdPartyId` / `mboxPC` are present
 * only in older answers, whose id `visitorId` then repeats.
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
