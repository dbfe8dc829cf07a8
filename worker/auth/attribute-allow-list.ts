import { RelayError } from "../relay-error.js";

const MAX_LISTED_NAMES = 10;

/**
 * Refuses (400) any attribute name outside the allow-list, `null`-valued ones included: a relay
 * configured with a list takes nothing else. `fieldOf(index, name)` names the first one's field.
 */
export function refuseUnlistedAttributes(
  allowed: ReadonlySet<string> | undefined,
  updates: readonly { readonly attributes: object }[],
  fieldOf: (index: number, name: string) => string,
): void {
  if (allowed === undefined) return;
  const refused = new Set<string>();
  let field: string | undefined;
  for (const [index, update] of updates.entries()) {
    for (const name of Object.keys(update.attributes)) {
      if (allowed.has(name)) continue;
      refused.add(name);
      field ??= fieldOf(index, name);
    }
  }
  if (refused.size === 0) return;
  const names = [...refused].slice(0, MAX_LISTED_NAMES).map((name) => JSON.stringify(name));
  const more = refused.size - names.length;
  const message = `attributes not allowed by this relay: ${names.join(", ")}${more > 0 ? ` and ${more} more` : ""}`;
  throw new RelayError(400, "attribute_not_allowed", message, { field });
}
