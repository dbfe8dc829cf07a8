import { RELAY_ROUTES, type RelayRoute } from "../../src/internal/index.js";
import { RelayError } from "../relay-error.js";
import type { RouteHandler } from "./route-handler.js";
import { listDeadLetters, replayDeadLetters } from "./routes/dead-letters.js";
import { getEmulatorStats } from "./routes/emulator-stats.js";
import { getBatch } from "./routes/get-batch.js";
import { getProfile } from "./routes/get-profile.js";
import { healthz } from "./routes/healthz.js";
import { updateProfile } from "./routes/update-profile.js";
import { updateProfiles } from "./routes/update-profiles.js";

/** Every route: its template (`:name` is a parameter) and a handler per method. */
const ROUTES: ReadonlyArray<{
  readonly template: RelayRoute;
  readonly methods: Readonly<Record<string, RouteHandler>>;
}> = [
  { template: RELAY_ROUTES.healthz, methods: { GET: healthz } },
  { template: RELAY_ROUTES.profiles, methods: { POST: updateProfiles } },
  { template: RELAY_ROUTES.profile, methods: { GET: getProfile, POST: updateProfile } },
  { template: RELAY_ROUTES.batch, methods: { GET: getBatch } },
  { template: RELAY_ROUTES.deadLetters, methods: { GET: listDeadLetters } },
  { template: RELAY_ROUTES.replayDeadLetters, methods: { POST: replayDeadLetters } },
  { template: RELAY_ROUTES.emulatorStats, methods: { GET: getEmulatorStats } },
];

export interface RouteMatch {
  readonly template: string;
  readonly handler: RouteHandler;
  /** Still percent-encoded: each handler decodes and checks its own. */
  readonly params: Readonly<Record<string, string>>;
}

/** The handler for a method and path, or a 404 / 405 (with `Allow`). */
export function matchRoute(method: string, pathname: string): RouteMatch {
  const segments = pathname.split("/");
  for (const { template, methods } of ROUTES) {
    const params = matchTemplate(template.split("/"), segments);
    if (params === undefined) continue;
    const handler = methods[method];
    if (handler === undefined) {
      const allow = Object.keys(methods).join(", ");
      throw new RelayError(405, "method_not_allowed", `this route takes ${allow}`, { headers: { allow } });
    }
    return { template, handler, params };
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
