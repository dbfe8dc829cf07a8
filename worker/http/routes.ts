import type { Endpoint } from "./route-handler.js";
import { RelayError } from "../relay-error.js";
import { listDeadLetters, replayDeadLetters } from "./routes/dead-letters.js";
import { getEmulatorStats } from "./routes/emulator-stats.js";
import { getBatch } from "./routes/get-batch.js";
import { getProfile } from "./routes/get-profile.js";
import { healthz } from "./routes/healthz.js";
import { updateProfile } from "./routes/update-profile.js";
import { updateProfiles } from "./routes/update-profiles.js";

/** Every route: its template (`:name` is a parameter) and an endpoint per method. */
const ROUTES: ReadonlyArray<{ readonly template: string; readonly methods: Readonly<Record<string, Endpoint>> }> = [
  { template: "/healthz", methods: { GET: healthz } },
  { template: "/v1/profiles", methods: { POST: updateProfiles } },
  { template: "/v1/profiles/:mbox3rdPartyId", methods: { GET: getProfile, POST: updateProfile } },
  { template: "/v1/batches/:batchId", methods: { GET: getBatch } },
  { template: "/v1/dead-letters", methods: { GET: listDeadLetters } },
  { template: "/v1/dead-letters/replay", methods: { POST: replayDeadLetters } },
  { template: "/_emulator/stats", methods: { GET: getEmulatorStats } },
];

export interface RouteMatch {
  readonly template: string;
  readonly endpoint: Endpoint;
  /** Still percent-encoded: each handler decodes and checks its own. */
  readonly params: Readonly<Record<string, string>>;
}

/** The endpoint for a method and path, or a 404 / 405 (with `Allow`). */
export function matchRoute(method: string, pathname: string): RouteMatch {
  const segments = pathname.split("/");
  for (const { template, methods } of ROUTES) {
    const params = matchTemplate(template.split("/"), segments);
    if (params === undefined) continue;
    const endpoint = methods[method];
    if (endpoint === undefined) {
      const allow = Object.keys(methods).join(", ");
      throw new RelayError(405, "method_not_allowed", `this route takes ${allow}`, { headers: { allow } });
    }
    return { template, endpoint, params };
  }
  throw new RelayError(404, "not_found", "no such route");
}

function matchTemplate(template: readonly string[], segments: readonly string[]): Record<string, string> | undefined {
  if (template.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (const [index, part] of template.entries()) {
    const segment = segments[index] as string;
    if (part.startsWith(":")) {
      if (segment === "") return undefined;
      params[part.slice(1)] = segment;
    } else if (part !== segment) {
      return undefined;
    }
  }
  return params;
}
