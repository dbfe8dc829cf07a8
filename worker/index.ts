import type { Env } from "./env.js";
import { handleRequest } from "./handle-request.js";

/**
 * target-profile's relay: trusted servers post sensitive profile attributes here; the Worker alone
 * holds the Target credentials, checks the caller and the attributes, and forwards them.
 */
export default {
  fetch(request, env) {
    return handleRequest(request, env);
  },
} satisfies ExportedHandler<Env>;
