import * as v from "valibot";
import { TargetValidationError, type ValidationIssue } from "../errors.js";

type AnySchema = v.GenericSchema<unknown, unknown>;

/**
 * Parses `input` with `schema` or throws a `TargetValidationError` naming each field and rule.
 * Only our own messages and the path are kept: valibot's issues also hold the input, which may be
 * personal data, so they never leave this function.
 */
export function parseOrThrow<TSchema extends AnySchema>(schema: TSchema, input: unknown): v.InferOutput<TSchema> {
  const result = v.safeParse(schema, input, { abortPipeEarly: true });
  if (result.success) return result.output;
  throw new TargetValidationError(toValidationIssues(result.issues));
}

/** valibot's issues as ours: the field and the rule, nothing of the input. */
export function toValidationIssues(issues: readonly v.BaseIssue<unknown>[]): ValidationIssue[] {
  return issues.map((issue) => ({ path: formatPath(issue.path), message: issue.message }));
}

const identifier = /^[A-Za-z_$][\w$]*$/;

/** `attributes.tier`, `updates[3].mbox3rdPartyId`, `attributes["two words"]`. */
export function formatPath(path: readonly { key: unknown }[] | undefined): string {
  let out = "";
  for (const { key } of path ?? []) {
    if (typeof key === "number") out += `[${key}]`;
    else if (typeof key === "string" && identifier.test(key)) out += out ? `.${key}` : key;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out;
}
