// A list of inputs checked one at a time, as far as the first few bad ones: what a request's problems cost
// the relay is then bounded by what it lists (a 4 MB body of bad updates would otherwise build millions of
// valibot issues, and a message naming them all).
import * as v from "valibot";
import { TargetValidationError, type ValidationIssue } from "../../src/index.js";
import { formatPath } from "../../src/internal/index.js";

/** Bad items named before checking stops; each is named by its first problem. */
export const MAX_INVALID_ITEMS = 5;

/**
 * Each item checked by `schema`; or a TargetValidationError naming the first problem of each of the first
 * MAX_INVALID_ITEMS bad items, as `field[index].…`.
 */
export function parseItems<TSchema extends v.GenericSchema>(
  schema: TSchema,
  items: readonly unknown[],
  field: string,
): v.InferOutput<TSchema>[] {
  const parsed: v.InferOutput<TSchema>[] = [];
  const issues: ValidationIssue[] = [];
  for (const [index, item] of items.entries()) {
    const result = v.safeParse(schema, item, { abortEarly: true });
    if (result.success) {
      parsed.push(result.output);
      continue;
    }
    const [issue] = result.issues;
    issues.push({ path: formatPath([{ key: field }, { key: index }, ...(issue.path ?? [])]), message: issue.message });
    if (issues.length === MAX_INVALID_ITEMS) break;
  }
  if (issues.length > 0) throw new TargetValidationError(issues);
  return parsed;
}
