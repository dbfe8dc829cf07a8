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

/**
 * Answers a single update; `write` applies it once it becomes visible (Target applies updates
 * asynchronously, and only to profiles that exist by then).
 */
export function handleSingleUpdate(
  request: Request,
  body: Uint8Array,
  store: ProfileStore,
  write: (apply: (at: string) => void) => void,
): Response {
  if (encoder.encode(request.url).byteLength > MAX_GET_URL_BYTES) return refusal("xml", 414, "Request-URI Too Long");
  const query = new URL(request.url).search.slice(1);
  const form = request.method === "GET" ? "" : readPostBody(request, body);
  if (form instanceof Response) return form;
  // A POST's parameters are those of its query string and of its form body, as a servlet reads them:
  // Segment's production integration POSTs with every parameter in the query string and no body.
  const params = [query, form].filter((part) => part !== "").join("&");
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
  write((at) => {
    const record = store.find(idName === "mboxPC" ? "tntId" : "thirdPartyId", id);
    if (record) store.setAttributes(record, attributes, at);
  });
  return xmlResponse(200, SUCCESS);
}

/** The form text of a POST (empty without a body), or the answer refusing it. */
function readPostBody(request: Request, body: Uint8Array): string | Response {
  if (body.byteLength === 0) return "";
  if (body.byteLength > MAX_POST_BODY_BYTES) return refusal("xml", 413, "Request Entity Too Large");
  if (!isFormBody(request)) return refusal("xml", 400, "Content-Type must be application/x-www-form-urlencoded");
  try {
    return bodyDecoder.decode(body);
  } catch {
    return refusal("xml", 400, "Unexpected error");
  }
}
