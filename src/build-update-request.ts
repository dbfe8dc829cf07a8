import * as v from "valibot";
import { authHeaders, endpointOptionsSchema, type Endpoint } from "./endpoint.js";
import { TargetValidationError } from "./errors.js";
import { ProfileUpdateSchema, type CheckedUpdate, type ProfileUpdate } from "./profile-update.js";
import { parseOrThrow } from "./validation.js";

/**
 * Target's limit for a GET update: the whole URL, in bytes (8 KB). Longer updates go as POST.
 * @example
 * buildUpdateRequest(update, { clientCode: "acme" }).url.length <= MAX_GET_URL_BYTES; // for a GET
 */
export const MAX_GET_URL_BYTES = 8 * 1024;
/**
 * Target's limit for a POST update: the form body, in bytes (60 KB). Larger updates are refused before sending.
 * @example
 * if (error.message.includes(String(MAX_POST_BODY_BYTES))) splitTheUpdate();
 */
export const MAX_POST_BODY_BYTES = 60 * 1024;

/**
 * Options of `buildUpdateRequest`: where to send, the token, and optionally the method to force.
 * @example
 * const options: UpdateRequestOptions = { clientCode: "acme", token, method: "POST" };
 */
export interface UpdateRequestOptions {
  /** The account's client code, e.g. `acme`. */
  readonly clientCode: string;
  /** Default `https://CLIENTCODE.tt.omtrdc.net`. */
  readonly baseUrl?: string | undefined;
  /** The profile API token, sent as `Authorization: Bearer`. */
  readonly token?: string | undefined;
  /** Force a method. Default: GET while the whole URL fits in 8 KB, otherwise POST. */
  readonly method?: "GET" | "POST";
}

export const MethodSchema = v.optional(v.picklist(["GET", "POST"], "method must be GET or POST"));

const UpdateRequestOptionsSchema = endpointOptionsSchema({ method: MethodSchema });

/**
 * Builds a Single Profile Update request without sending it.
 * Throws `TargetValidationError` for an invalid update or one larger than Target accepts.
 * @example
 * const request = buildUpdateRequest(
 *   { mbox3rdPartyId: "crm-42", attributes: { tier: "gold" } },
 *   { clientCode: "acme" },
 * );
 * // GET https://acme.tt.omtrdc.net/m2/acme/profile/update?mbox3rdPartyId=crm-42&profile.tier=gold
 */
export function buildUpdateRequest(update: ProfileUpdate, options: UpdateRequestOptions): Request {
  const endpoint = parseOrThrow(UpdateRequestOptionsSchema, options);
  const method = parseOrThrow(MethodSchema, options.method);
  return updateRequest(parseOrThrow(ProfileUpdateSchema, update), endpoint, method);
}

/** The request for an already checked update. */
export function updateRequest(update: CheckedUpdate, endpoint: Endpoint, method?: "GET" | "POST"): Request {
  const url = `${endpoint.baseUrl}/m2/${endpoint.clientCode}/profile/update`;
  const idParam = update.idType === "thirdPartyId" ? "mbox3rdPartyId" : "mboxPC";
  let form = `${idParam}=${formEncode(update.id)}`;
  for (const [name, value] of update.attributes) {
    form += `&profile.${formEncode(name)}=${formEncode(value)}`;
  }
  // Everything is percent-encoded ASCII by now, so string length is byte length.
  const getUrlBytes = url.length + 1 + form.length;
  const chosen = method ?? (getUrlBytes <= MAX_GET_URL_BYTES ? "GET" : "POST");
  if (chosen === "GET") {
    if (getUrlBytes > MAX_GET_URL_BYTES) {
      throw tooLarge(
        `as a GET the request URL is ${getUrlBytes} bytes; Target accepts at most ${MAX_GET_URL_BYTES} (send it as POST)`,
      );
    }
    return new Request(`${url}?${form}`, { method: "GET", headers: authHeaders(endpoint) });
  }
  if (form.length > MAX_POST_BODY_BYTES) {
    throw tooLarge(
      `the encoded update is ${form.length} bytes; Target accepts at most ${MAX_POST_BODY_BYTES} (60 KB) in a POST`,
    );
  }
  return new Request(url, {
    method: "POST",
    headers: { ...authHeaders(endpoint), "content-type": "application/x-www-form-urlencoded" },
    body: form,
  });
}

/**
 * UTF-8 percent-encoding (`encodeURIComponent`), plus `'`: URL parsers escape a raw `'` in a query,
 * which would make the URL sent longer than the one measured against the 8 KB limit.
 */
const formEncode = (text: string) => encodeURIComponent(text).replace(/'/g, "%27");

const tooLarge = (message: string) => new TargetValidationError([{ path: "attributes", message }]);
