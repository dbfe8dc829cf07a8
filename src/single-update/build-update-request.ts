import * as v from "valibot";
import { TargetValidationError, type ValidationIssue } from "../errors.js";
import { authHeaders, endpointOptionsSchema, type Endpoint } from "../internal/endpoint.js";
import { parseOrThrow } from "../internal/validation.js";
import { MAX_GET_URL_BYTES, MAX_POST_BODY_BYTES } from "../limits.js";
import { ProfileUpdateSchema, type CheckedUpdate, type ProfileUpdate } from "../profile-update.js";

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
  const form = updateForm(update);
  // Everything is percent-encoded ASCII by now, so string length is byte length.
  const getUrlBytes = url.length + 1 + form.length;
  const chosen = method ?? (getUrlBytes <= MAX_GET_URL_BYTES ? "GET" : "POST");
  if (chosen === "GET") {
    if (getUrlBytes > MAX_GET_URL_BYTES) {
      throw tooLarge({
        path: "attributes",
        message: `as a GET the request URL is ${getUrlBytes} bytes; Target accepts at most ${MAX_GET_URL_BYTES} (send it as POST)`,
      });
    }
    return new Request(`${url}?${form}`, { method: "GET", headers: authHeaders(endpoint) });
  }
  const postIssue = postSizeIssue(form.length);
  if (postIssue !== undefined) throw tooLarge(postIssue);
  return new Request(url, {
    method: "POST",
    headers: { ...authHeaders(endpoint), "content-type": "application/x-www-form-urlencoded" },
    body: form,
  });
}

/**
 * Why Target cannot take an already checked update as a single update at all (its form is over what a
 * POST carries; a GET is only chosen when shorter still), or `undefined` when it can. A plain size
 * check: nothing is built or sent.
 */
export function singleUpdateSizeIssue(update: CheckedUpdate): ValidationIssue | undefined {
  return postSizeIssue(updateForm(update).length);
}

/** The update as Target's form: `mbox3rdPartyId=crm-42&profile.tier=gold`, percent-encoded ASCII. */
function updateForm(update: CheckedUpdate): string {
  const idParam = update.idType === "thirdPartyId" ? "mbox3rdPartyId" : "mboxPC";
  let form = `${idParam}=${formEncode(update.id)}`;
  for (const [name, value] of update.attributes) {
    form += `&profile.${formEncode(name)}=${formEncode(value)}`;
  }
  return form;
}

function postSizeIssue(bytes: number): ValidationIssue | undefined {
  if (bytes <= MAX_POST_BODY_BYTES) return undefined;
  return {
    path: "attributes",
    message: `the encoded update is ${bytes} bytes; Target accepts at most ${MAX_POST_BODY_BYTES} (60 KB) in a POST`,
  };
}

/**
 * UTF-8 percent-encoding (`encodeURIComponent`), plus `'`: URL parsers escape a raw `'` in a query,
 * which would make the URL sent longer than the one measured against the 8 KB limit.
 */
const formEncode = (text: string) => encodeURIComponent(text).replace(/'/g, "%27");

const tooLarge = (issue: ValidationIssue) => new TargetValidationError([issue]);
