import { RelayError } from "../../relay-error.js";
import { emulatorStats } from "../../upstream/local-emulator.js";
import { jsonResponse } from "../json-response.js";
import type { ProtectedHandler } from "../route-handler.js";

/**
 * `GET /_emulator/stats`, local runs only (TARGET_UPSTREAM = "emulator", which the configuration
 * refuses to pair with production keys): what the built-in emulator holds and the calls it took,
 * for `npm run bench:queue`. Against Target it does not exist (404).
 */
export const getEmulatorStats: ProtectedHandler = {
  scopes: ["read", "admin"],
  maxBodyBytes: 0,
  async handle({ config }) {
    if (config.emulator === undefined) throw new RelayError(404, "not_found", "no such route");
    return jsonResponse(200, await emulatorStats(config.emulator));
  },
};
