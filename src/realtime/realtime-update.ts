// What the Delivery API takes of an update, beyond the rules every update keeps (profile-update.ts):
// values of at most 256 characters (Target cuts longer ones: refused here, never cut), a tnt id of at
// most 128 characters, and attributes spread over mboxes of 50 profile parameters each.
import type { ValidationIssue } from "../errors.js";
import { formatPath } from "../internal/validation.js";
import { MAX_PROFILE_PARAMETERS_PER_MBOX, MAX_REALTIME_VALUE_LENGTH, MAX_TNT_ID_LENGTH } from "../limits.js";
import type { CheckedUpdate } from "../profile-update.js";

/**
 * Why the Delivery API cannot take an update the core already checked, one issue per field; empty
 * when it can. Messages name the field and the rule, never the value.
 */
export function deliveryIssues(update: CheckedUpdate): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  if (update.idType === "pcId") {
    if (update.id.length > MAX_TNT_ID_LENGTH) {
      issues.push({ path: "mboxPC", message: `mboxPC must be at most ${MAX_TNT_ID_LENGTH} characters here` });
    } else if (update.id.split(".").length > 2) {
      issues.push({ path: "mboxPC", message: "mboxPC must hold at most one '.', the one before its location hint" });
    }
  }
  for (const [name, value] of update.attributes) {
    if (value.length <= MAX_REALTIME_VALUE_LENGTH) continue;
    issues.push({
      path: formatPath([{ key: "attributes" }, { key: name }]),
      message: `must be at most ${MAX_REALTIME_VALUE_LENGTH} characters in real time (Target would cut it)`,
    });
  }
  return issues;
}

/** The attributes in mboxes of at most 50 profile parameters: each mbox is a billed server call. */
export function profileParameterGroups(update: CheckedUpdate): Record<string, string>[] {
  const groups: Record<string, string>[] = [];
  for (let start = 0; start < update.attributes.length; start += MAX_PROFILE_PARAMETERS_PER_MBOX) {
    // Own properties whatever the name (fromEntries defines them; an assignment to `__proto__` would not).
    groups.push(Object.fromEntries(update.attributes.slice(start, start + MAX_PROFILE_PARAMETERS_PER_MBOX)));
  }
  return groups;
}

/**
 * The billed server calls an update makes through the Delivery API: one per mbox, each carrying up
 * to 50 attributes.
 */
export const deliveryCallCount = (update: CheckedUpdate) =>
  Math.ceil(update.attributes.length / MAX_PROFILE_PARAMETERS_PER_MBOX);
