import { parseForm } from "./form-decoding.js";
import type { ProfileIdKind } from "./profile-store.js";
import type { AnswerFormat } from "./responses.js";
import type { Operation } from "./types.js";

export type Route =
  | { operation: "update"; clientCode: string }
  | { operation: "batchUpdate"; clientCode: string; version: 1 | 2 }
  | { operation: "batchStatus"; clientCode: string }
  | { operation: "delivery"; clientCode: string | undefined }
  | { operation: "fetch"; clientCode: string | undefined; idKind: ProfileIdKind; encodedId: string };

export const ROUTE_METHODS: Record<Operation, readonly string[]> = {
  update: ["GET", "POST"],
  fetch: ["GET"],
  batchUpdate: ["POST"],
  batchStatus: ["GET"],
  delivery: ["POST"],
};

export function answerFormat(route: Route): AnswerFormat {
  return route.operation === "fetch" || route.operation === "delivery" ? "json" : "xml";
}

/** Matches a path on any host: batch status URLs point at edge hosts, not the account's host. */
export function matchRoute(url: URL): Route | undefined {
  const [root, second, third, ...rest] = url.pathname.split("/").slice(1);
  if (root === "m2" && second) {
    const clientCode = second;
    switch ([third, ...rest].join("/")) {
      case "profile/update":
        return { operation: "update", clientCode };
      case "profile/batchUpdate":
        return { operation: "batchUpdate", clientCode, version: 1 };
      case "v2/profile/batchUpdate":
        return { operation: "batchUpdate", clientCode, version: 2 };
      // The documented status path, for v1 and v2 batches alike, and the v2 path older answers gave
      // (`...&m2Node=00`: the node is ignored, as this emulator is one node).
      case "profile/batchStatus":
      case "v2/profile/batchStatus":
        return { operation: "batchStatus", clientCode };
    }
  }
  // The Delivery API, on any host: later calls of a session go to the edge host it answered from.
  if (root === "rest" && second === "v1" && third === "delivery" && rest.length === 0) {
    return { operation: "delivery", clientCode: queryField(url, "client") };
  }
  if (root === "rest" && second === "v1" && third === "profiles") {
    const clientCode = queryField(url, "client");
    const [kind, id, ...extra] = rest;
    if (extra.length > 0 || !kind) return undefined;
    if (id === undefined) return { operation: "fetch", clientCode, idKind: "tntId", encodedId: kind };
    if ((kind === "thirdPartyId" || kind === "marketingCloudVisitorId") && id !== "") {
      return { operation: "fetch", clientCode, idKind: kind, encodedId: id };
    }
  }
  return undefined;
}

/** The first value of a query field; a malformed query counts as no value. */
export function queryField(url: URL, name: string): string | undefined {
  try {
    return parseForm(url.search.slice(1)).find(([field]) => field === name)?.[1];
  } catch {
    return undefined;
  }
}
