// The Delivery API call that writes profile attributes in real time (docs/target-api.md, "Delivery
// API"): `POST /rest/v1/delivery?client=CC&sessionId=SID` with the visitor's id and one execute mbox
// per 50 attributes, which carry them as `profileParameters`. No token: the Delivery API takes none.
import * as v from "valibot";
import { TargetValidationError } from "../errors.js";
import { BaseUrlSchema, ClientCodeSchema, defaultBaseUrl, type Endpoint } from "../internal/endpoint.js";
import { nonEmptyString, objectMessage } from "../internal/schemas.js";
import { parseOrThrow } from "../internal/validation.js";
import { MAX_MBOX_NAME_LENGTH, MAX_SESSION_ID_LENGTH } from "../limits.js";
import { ProfileUpdateSchema, type CheckedUpdate, type ProfileUpdate } from "../profile-update.js";
import { deliveryIssues, profileParameterGroups } from "./realtime-update.js";

/** The mbox real-time writes use unless told otherwise: no activity should use it. */
export const DEFAULT_REALTIME_MBOX = "target-profile-sync";

/** Printable ASCII without space, `?`, `{`, `}` or `/` (the documented sessionId), 1–128 of them. */
export const SessionIdSchema = v.pipe(
  v.string("sessionId must be a string"),
  v.regex(
    new RegExp(`^[!-.0-9:->@-z|~]{1,${MAX_SESSION_ID_LENGTH}}$`),
    `sessionId must be 1–${MAX_SESSION_ID_LENGTH} printable characters without space, '?', '{', '}' or '/'`,
  ),
);

// Adobe's rule for mbox names: letters, digits and `-, ./=`:;&!@#$%^*()+|?~[]{}`, no `-clicked`
// suffix, none of the names Target keeps for itself.
const MBOX_NAME = /^[\w\-, ./=`:;&!@#$%^*()+|?~[\]{}]+$/;
const RESERVED_MBOX_NAMES = ["display mboxes", "any mbox", "click from display mbox"];

/** A name for the mbox that carries the attributes, named `field` in messages. */
export const mboxNameSchema = (field: string) =>
  v.pipe(
    v.string(`${field} must be a string`),
    v.nonEmpty(`${field} must not be empty`),
    v.maxLength(MAX_MBOX_NAME_LENGTH, `${field} must be at most ${MAX_MBOX_NAME_LENGTH} characters`),
    v.regex(
      MBOX_NAME,
      `${field} must hold only letters, digits and - , . / = \` : ; & ! @ # $ % ^ * ( ) + | ? ~ [ ] { }`,
    ),
    v.check(
      (name) => !name.endsWith("-clicked") && !RESERVED_MBOX_NAMES.includes(name.toLowerCase()),
      `${field} must not end with '-clicked' or be a name Target keeps for itself`,
    ),
  );

export const PropertyTokenSchema = nonEmptyString("propertyToken");

/**
 * Options of `buildDeliveryRequest`: where to send, the visitor's session, and the mbox.
 * @example
 * const options: DeliveryRequestOptions = { clientCode: "acme", sessionId: crypto.randomUUID() };
 */
export interface DeliveryRequestOptions {
  /** The account's client code, e.g. `acme`. */
  readonly clientCode: string;
  /** Where to send: default `https://CLIENTCODE.tt.omtrdc.net`; an edge host's URL to follow one. */
  readonly baseUrl?: string | undefined;
  /**
   * The visitor's session: the same one for every call of theirs while it lives (30 minutes after
   * their last call), never one shared with another visitor.
   */
  readonly sessionId: string;
  /** The mbox that carries the attributes (default `target-profile-sync`); no activity should use it. */
  readonly mbox?: string | undefined;
  /** An `at_property` token, to scope the call to a workspace (Target Premium). */
  readonly propertyToken?: string | undefined;
}

const DeliveryRequestOptionsSchema = v.object(
  {
    clientCode: ClientCodeSchema,
    baseUrl: v.optional(BaseUrlSchema),
    sessionId: SessionIdSchema,
    mbox: v.optional(mboxNameSchema("mbox"), DEFAULT_REALTIME_MBOX),
    propertyToken: v.optional(PropertyTokenSchema),
  },
  objectMessage("options must be an object"),
);

/** What one call adds to the update: the visitor's session, the mbox, the property. */
export interface DeliveryCall {
  readonly sessionId: string;
  readonly mbox: string;
  readonly propertyToken?: string | undefined;
}

/**
 * Builds a Delivery API request that writes one visitor's attributes, without sending it. Throws
 * `TargetValidationError` for an invalid update, one the Delivery API cannot take (a value over 256
 * characters), or invalid options.
 * @example
 * const request = buildDeliveryRequest(
 *   { mbox3rdPartyId: "crm-42", attributes: { tier: "gold" } },
 *   { clientCode: "acme", sessionId: "5f1b2c3d-0a9e-4c7b-8d6f-1e2a3b4c5d6e" },
 * );
 * // POST https://acme.tt.omtrdc.net/rest/v1/delivery?client=acme&sessionId=5f1b2c3d-…
 * // {"context":{"channel":"web"},"id":{"thirdPartyId":"crm-42"},
 * //  "execute":{"mboxes":[{"index":1,"name":"target-profile-sync","profileParameters":{"tier":"gold"}}]}}
 */
export function buildDeliveryRequest(update: ProfileUpdate, options: DeliveryRequestOptions): Request {
  const { clientCode, baseUrl, ...call } = parseOrThrow(DeliveryRequestOptionsSchema, options);
  const endpoint = { clientCode, baseUrl: baseUrl ?? defaultBaseUrl(clientCode) };
  return deliveryRequest(parseRealtimeUpdate(update), endpoint, call);
}

/** An update checked against every rule, the Delivery API's included; throws `TargetValidationError` otherwise. */
export function parseRealtimeUpdate(update: ProfileUpdate): CheckedUpdate {
  const checked = parseOrThrow(ProfileUpdateSchema, update);
  const issues = deliveryIssues(checked);
  if (issues.length > 0) throw new TargetValidationError(issues);
  return checked;
}

/** The request for an update already checked (`parseRealtimeUpdate`), sent to `endpoint.baseUrl`. */
export function deliveryRequest(
  update: CheckedUpdate,
  endpoint: Pick<Endpoint, "clientCode" | "baseUrl">,
  call: DeliveryCall,
): Request {
  const query = `client=${encodeURIComponent(endpoint.clientCode)}&sessionId=${encodeURIComponent(call.sessionId)}`;
  const body = {
    context: { channel: "web" },
    id: update.idType === "thirdPartyId" ? { thirdPartyId: update.id } : { tntId: update.id },
    ...(call.propertyToken === undefined ? {} : { property: { token: call.propertyToken } }),
    execute: {
      mboxes: profileParameterGroups(update).map((profileParameters, index) => ({
        index: index + 1,
        name: call.mbox,
        profileParameters,
      })),
    },
  };
  return new Request(`${endpoint.baseUrl}/rest/v1/delivery?${query}`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json" },
    body: JSON.stringify(body),
  });
}
