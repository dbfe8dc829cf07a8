// The one input shape of every update, single or bulk, and its rules (Target's documented limits).
// Messages name the rule, never the value: ids and values are personal data.
import * as v from "valibot";
import { objectMessage } from "./internal/schemas.js";
import { MAX_ID_LENGTH, MAX_NAME_LENGTH } from "./limits.js";

// Ids and names are measured in UTF-16 code units, as Target's Java services count characters.
// C0 and C1 control characters (line breaks included): Target's attribute names are plain labels.
export const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/;

const nativeIsWellFormed = (String.prototype as { isWellFormed?: (this: string) => boolean }).isWellFormed;

/**
 * Whether `text` holds no lone UTF-16 surrogate, which UTF-8 cannot encode (`encodeURIComponent`
 * throws on it). A loop where `String.prototype.isWellFormed` is missing (older browsers).
 */
export function isWellFormed(text: string): boolean {
  if (nativeIsWellFormed) return nativeIsWellFormed.call(text);
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0xd800 || code > 0xdfff) continue;
    const next = text.charCodeAt(i + 1);
    if (code > 0xdbff || !(next >= 0xdc00 && next <= 0xdfff)) return false;
    i++;
  }
  return true;
}

const wellFormed = (what: string) =>
  v.check(isWellFormed, `${what} must be valid Unicode text (it holds a lone surrogate)`);

/** Rules shared by every visitor id: a non-empty, well-formed string of at most 256 characters. */
export const visitorIdSchema = (field: string) =>
  v.pipe(
    v.string(`${field} must be a string`),
    v.nonEmpty(`${field} must not be empty`),
    v.maxLength(MAX_ID_LENGTH, `${field} must be at most ${MAX_ID_LENGTH} characters`),
    wellFormed(field),
  );

/** A customer id (`mbox3rdPartyId`; `thirdPartyId` in batch files and fetches): also no `+` or `/`. */
export const thirdPartyIdSchema = (field: string) =>
  v.pipe(
    visitorIdSchema(field),
    v.check((id) => !id.includes("+") && !id.includes("/"), `${field} must not contain '+' or '/'`),
  );

const ThirdPartyIdSchema = thirdPartyIdSchema("mbox3rdPartyId");
/** A Target visitor id (`mboxPC`; `pcId` in batch files, the tnt id of a fetch). */
const PcIdSchema = visitorIdSchema("mboxPC");

/**
 * Names JavaScript objects treat as more than data, which valibot's records skip without a word: refused
 * as attribute names everywhere (core, relay, queues, emulator), so that none is ever silently dropped.
 */
export const RESERVED_ATTRIBUTE_NAMES: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"]);
export const RESERVED_NAME_MESSAGE = 'attribute names must not be "__proto__", "constructor" or "prototype"';

/** A bare attribute name: `tier`, not `profile.tier`. */
export const AttributeNameSchema = v.pipe(
  v.string("attribute names must be strings"),
  v.nonEmpty("attribute names must not be empty"),
  v.maxLength(MAX_NAME_LENGTH, `attribute names must be at most ${MAX_NAME_LENGTH} characters`),
  v.check((name) => !CONTROL_CHARACTER.test(name), "attribute names must not contain control characters"),
  wellFormed("attribute names"),
  v.check((name) => !RESERVED_ATTRIBUTE_NAMES.has(name), RESERVED_NAME_MESSAGE),
  v.check(
    (name) => !name.startsWith("profile."),
    "attribute names must not start with 'profile.': drop the prefix, it is added on the wire",
  ),
);

/**
 * A record of attributes by name, as valibot's `record` checks it, after refusing the reserved names that
 * `record` would skip unchecked (their issue's path is the name, as for any other name).
 */
export const attributeRecord = <TValue extends v.GenericSchema>(value: TValue, message: string) =>
  v.pipe(
    v.custom<Record<string, unknown>>((input) => typeof input === "object" && input !== null, message),
    v.rawCheck<Record<string, unknown>>(({ dataset, addIssue }) => {
      if (!dataset.typed) return;
      const input = dataset.value;
      for (const name of RESERVED_ATTRIBUTE_NAMES) {
        if (!Object.prototype.hasOwnProperty.call(input, name)) continue;
        addIssue({
          message: RESERVED_NAME_MESSAGE,
          path: [{ type: "object", origin: "key", input, key: name, value: input[name] }],
        });
      }
    }),
    v.record(AttributeNameSchema, value, message),
  );

/** A value Target can store. `""` is refused: Target ignores empty values, so it could not clear anything. */
export const AttributeValueSchema = v.union(
  [
    v.pipe(
      v.string(),
      v.nonEmpty(
        'must not be an empty string: Target ignores empty values, so "" cannot clear an attribute (leave it out, or send null to skip it)',
      ),
      wellFormed("values"),
    ),
    v.pipe(v.number(), v.finite("must be a finite number")),
    v.boolean(),
  ],
  "must be a string, a finite number or a boolean",
);

/** Attributes by bare name; `null` and `undefined` are skipped (Target cannot clear a value anyway). */
export const AttributesSchema = v.pipe(
  attributeRecord(v.nullish(AttributeValueSchema), "attributes must be an object of name → value"),
  v.check(
    (attributes) => Object.values(attributes).some((value) => value !== null && value !== undefined),
    "attributes must hold at least one attribute with a value",
  ),
);

/** Which id keys a visitor: batch files name it `thirdPartyId` or `pcId`. */
export type IdType = "thirdPartyId" | "pcId";

/** An update after its rules were checked: the id kind, the id, and the wire-ready (string) values. */
export interface CheckedUpdate {
  readonly idType: IdType;
  readonly id: string;
  /** `[name, value]` pairs in input order, `null` / `undefined` already dropped. */
  readonly attributes: readonly (readonly [string, string])[];
}

/** `{ mbox3rdPartyId | mboxPC, attributes }`, checked: the update itself when it keeps every rule. */
export const ProfileUpdateRulesSchema = v.pipe(
  v.strictObject(
    {
      mbox3rdPartyId: v.optional(ThirdPartyIdSchema),
      mboxPC: v.optional(PcIdSchema),
      attributes: AttributesSchema,
    },
    objectMessage(
      "an update must be an object { mbox3rdPartyId | mboxPC, attributes }",
      "unknown field: an update takes mbox3rdPartyId or mboxPC, and attributes",
    ),
  ),
  v.check(
    (update) => (update.mbox3rdPartyId === undefined) !== (update.mboxPC === undefined),
    "an update takes exactly one of mbox3rdPartyId or mboxPC",
  ),
);

/** `{ mbox3rdPartyId | mboxPC, attributes }`, checked and normalized into a `CheckedUpdate`. */
export const ProfileUpdateSchema = v.pipe(
  ProfileUpdateRulesSchema,
  v.transform((update) => toCheckedUpdate(update)),
);

/**
 * A valid update (one `ProfileUpdateRulesSchema` accepted) as a `CheckedUpdate`: its id kind and id, and
 * its values as the wire takes them (strings).
 */
export function toCheckedUpdate(update: v.InferOutput<typeof ProfileUpdateRulesSchema> | ProfileUpdate): CheckedUpdate {
  const attributes: (readonly [string, string])[] = [];
  for (const [name, value] of Object.entries(update.attributes)) {
    if (value !== null && value !== undefined) attributes.push([name, String(value)]);
  }
  return update.mboxPC === undefined
    ? { idType: "thirdPartyId", id: update.mbox3rdPartyId as string, attributes }
    : { idType: "pcId", id: update.mboxPC, attributes };
}

/** An attribute value as Target stores it. */
export type AttributeValue = v.InferOutput<typeof AttributeValueSchema>;

/** Attributes by bare name (`tier`, not `profile.tier`); `null` / `undefined` entries are skipped. */
export type ProfileAttributes = Readonly<Record<string, AttributeValue | null | undefined>>;

/**
 * One visitor's attributes, keyed by exactly one id.
 * @example
 * const update: ProfileUpdate = { mbox3rdPartyId: "crm-42", attributes: { tier: "gold", ltv: 1200 } };
 */
export type ProfileUpdate =
  | { readonly mbox3rdPartyId: string; readonly mboxPC?: never; readonly attributes: ProfileAttributes }
  | { readonly mboxPC: string; readonly mbox3rdPartyId?: never; readonly attributes: ProfileAttributes };
