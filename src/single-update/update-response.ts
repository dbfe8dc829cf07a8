import { TargetRejectedError, TargetResponseError } from "../errors.js";
import { xmlText } from "../internal/xml.js";

/**
 * What Target answered to a single update.
 * @example
 * const { method, message } = await target.updateProfile(update); // "GET", "Request successfully submitted"
 */
export interface UpdateResult {
  /** The method the update went out with. */
  readonly method: "GET" | "POST";
  /** Target's message, e.g. `Request successfully submitted`. */
  readonly message: string;
  /** The pcId Target returned, when it returned one. */
  readonly pcId?: string;
}

/**
 * Reads a Single Profile Update answer: the XML one or the tag-stripped one (`trueRequest successfully submitted`).
 * Throws `TargetRejectedError` when Target said `false`.
 * @example
 * parseUpdateResponse("<response><success>true</success><pcId></pcId><message>Request successfully submitted</message></response>", "GET");
 * // { method: "GET", message: "Request successfully submitted" }
 */
export function parseUpdateResponse(text: string, method: "GET" | "POST"): UpdateResult {
  const xmlSuccess = xmlText(text, "success");
  const stripped = xmlSuccess === undefined ? /^\s*(true|false)([\s\S]*)$/.exec(text) : null;
  const success = xmlSuccess ?? stripped?.[1];
  const message = (xmlSuccess === undefined ? stripped?.[2] : xmlText(text, "message"))?.trim() ?? "";
  if (success === "false") throw new TargetRejectedError(message || "no message", "updateProfile");
  if (success !== "true") throw new TargetResponseError("not a profile update answer", "updateProfile");
  const pcId = xmlText(text, "pcId");
  return pcId ? { method, message, pcId } : { method, message };
}
