// The Delivery API's answer to a real-time write: `200` JSON with the request id, the visitor's ids
// (the tnt id Target made or found, with its location hint) and the edge host that served it, which
// later calls of the session should go to. Only what a write needs is read; the rest is Target's.
import * as v from "valibot";
import { TargetResponseError } from "../errors.js";

const DeliveryAnswerSchema = v.looseObject({
  status: v.optional(v.literal(200)),
  requestId: v.pipe(v.string(), v.nonEmpty()),
  id: v.optional(v.looseObject({ tntId: v.optional(v.string()), thirdPartyId: v.optional(v.string()) }), {}),
  edgeHost: v.optional(v.string()),
  execute: v.optional(v.looseObject({ mboxes: v.optional(v.array(v.looseObject({ index: v.number() })), []) }), {
    mboxes: [],
  }),
});

/**
 * What Target answered to a real-time write.
 * @example
 * const { tntId, edgeHost } = parseDeliveryResponse(await response.text());
 */
export interface DeliveryResult {
  /** Target's id of the request (a UUID unless one was sent). */
  readonly requestId: string;
  /** The visitor's Target id, e.g. `338e3c1e51f7416a8e1ccba4f81acea0.28_0` (after the `.`, its location hint). */
  readonly tntId?: string | undefined;
  /** The customer id, as sent. */
  readonly thirdPartyId?: string | undefined;
  /** The edge that served the call, e.g. `mboxedge28.tt.omtrdc.net`: the visitor's later calls go there. */
  readonly edgeHost?: string | undefined;
  /** The mboxes Target executed: each one is a billed server call. */
  readonly mboxes: number;
}

/**
 * Reads a Delivery API answer (`200`) and checks it has the documented shape; throws
 * `TargetResponseError` naming the fields that do not fit (never their values).
 * @example
 * parseDeliveryResponse('{"status":200,"requestId":"r-1","client":"acme","id":{"tntId":"a1.28_0","thirdPartyId":"crm-42"},"edgeHost":"mboxedge28.tt.omtrdc.net","execute":{"mboxes":[{"index":1,"name":"target-profile-sync"}]}}');
 * // { requestId: "r-1", tntId: "a1.28_0", thirdPartyId: "crm-42", edgeHost: "mboxedge28.tt.omtrdc.net", mboxes: 1 }
 */
export function parseDeliveryResponse(text: string): DeliveryResult {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new TargetResponseError("the answer is not JSON", "updateProfileRealtime");
  }
  const result = v.safeParse(DeliveryAnswerSchema, json);
  if (!result.success) {
    const fields = result.issues.map((issue) => v.getDotPath(issue) ?? "(root)").join(", ");
    throw new TargetResponseError(`not a Delivery API answer (${fields})`, "updateProfileRealtime");
  }
  const { requestId, id, edgeHost, execute } = result.output;
  return {
    requestId,
    ...(id.tntId === undefined ? {} : { tntId: id.tntId }),
    ...(id.thirdPartyId === undefined ? {} : { thirdPartyId: id.thirdPartyId }),
    ...(edgeHost === undefined ? {} : { edgeHost }),
    mboxes: execute.mboxes.length,
  };
}
