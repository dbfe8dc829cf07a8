// Path parameters: each arrives percent-encoded and is decoded once, here; the value then only ever
// reaches Target through the core's own encoding.
import * as v from "valibot";
import { TargetValidationError } from "../../src/index.js";
import { RelayError } from "../relay-error.js";

/** A path segment, decoded, named `field` in errors (a write checks it with the rest of its input). */
export function decodePathParam(field: string, raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new RelayError(400, "invalid_input", `${field}: must be percent-encoded UTF-8`, { field });
  }
}

/** A path segment, decoded and checked by `schema`, named `field` in errors. */
export function pathParam<TSchema extends v.GenericSchema<string, string>>(
  field: string,
  raw: string,
  schema: TSchema,
): string {
  // A rule without a message of its own says only this: valibot's default quotes the input.
  const decoded = decodePathParam(field, raw);
  const result = v.safeParse(schema, decoded, { abortPipeEarly: true, message: () => "is invalid" });
  if (!result.success) throw new TargetValidationError([{ path: field, message: result.issues[0].message }]);
  return result.output;
}
