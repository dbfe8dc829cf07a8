// Single Profile Update: `GET|POST /m2/CC/profile/update`.
import { parseForm } from "./form-decoding.js";
import { MAX_GET_URL_BYTES, MAX_POST_BODY_BYTES } from "../limits.js";
import { isReservedAttributeName, isValidAttributeName, isValidThirdPartyId, RESERVED_NAME_RULE } from "./limits.js";
import type { ProfileStore } from "./profile-store.js";
import { isFormBody, refusal, xmlResponse } from "./responses.js";

const SUCCESS =
  "<response><success>true</success><pcId></pcId><message>Request successfully submitted</message></response>";
const PREFIX = "profile.";
const encoder = new TextEncoder();
const bodyDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

export function handleSingleUpdate(request: Request, body: Uint8Array, store: ProfileStore, at: string): Response {
  if (encoder.encode(request.url).byteLength > MAX_GET_URL_BYTES) return refusal("xml", 414, "Request-URI Too Long");
  const params = request.method === "GET" ? new URL(request.url).search.slice(1) : readPostBody(request, body);
  if (params instanceof Response) return params;
  let fields: Array<[string, string]>;
  try {
    fields = parseForm(params);
  } catch {
    return refusal("xml", 400, "Unexpected error");
  }

  const ids = fields.filter(([name]) => name === "mbox3rdPartyId" || name === "mboxPC");
  if (ids.length !== 1 || ids[0]![1] === "") {
    return refusal("xml", 400, "Exactly one of mbox3rdPartyId or mboxPC is required");
  }
  const [idName, id] = ids[0]!;
  if (idName === "mbox3rdPartyId" && !isValidThirdPartyId(id)) return refusal("xml", 400, "Invalid mbox3rdPartyId");

  const attributes: Array<[string, string]> = [];
  for (const [name, value] of fields) {
    if (!name.startsWith(PREFIX)) continue;
    const attribute = name.slice(PREFIX.length);
    if (!isValidAttributeName(attribute)) {
      const rule = isReservedAttributeName(attribute) ? `: ${RESERVED_NAME_RULE}` : "";
      return refusal("xml", 400, `Invalid profile attribute name${rule}`);
    }
    if (value !== "") attributes.push([attribute, value]);
  }

  // Update only: an unknown visitor is not created, and the answer is the same.
  const record = store.find(idName === "mboxPC" ? "tntId" : "thirdPartyId", id);
  if (record) store.setAttributes(record, attributes, at);
  return xmlResponse(200, SUCCESS);
}

/** The form text of a POST, or the answer refusing it. */
function readPostBody(request: Request, body: Uint8Array): string | Response {
  if (body.byteLength > MAX_POST_BODY_BYTES) return refusal("xml", 413, "Request Entity Too Large");
  if (!isFormBody(request)) return refusal("xml", 400, "Content-Type must be application/x-www-form-urlencoded");
  try {
    return bodyDecoder.decode(body);
  } catch {
    return refusal("xml", 400, "Unexpected error");
  }
}
