import * as v from "valibot";
import { TargetValidationError } from "../../src/index.js";
import { thirdPartyIdSchema } from "../../src/internal/index.js";
import { RelayError } from "../relay-error.js";

/**
 * A path segment, decoded and checked, named `field` in errors. Decoding happens once, here:
 * the value then only ever reaches Target through the core's own encoding.
 */
export function pathParam<TSchema extends v.GenericSchema<string, string>>(
  field: string,
  raw: string,
  schema: TSchema,
): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    throw new RelayError(400, "invalid_input", `${field}: must be percent-encoded UTF-8`, { field });
  }
  const result = v.safeParse(schema, decoded, { abortPipeEarly: true, message: () => "is invalid" });
  if (!result.success) throw new TargetValidationError([{ path: field, message: result.issues[0].message }]);
  return result.output;
}

/** `mbox3rdPartyId` as Target takes it: at most 256 characters, no `+` or `/`. */
export const Mbox3rdPartyIdSchema = thirdPartyIdSchema("mbox3rdPartyId");
