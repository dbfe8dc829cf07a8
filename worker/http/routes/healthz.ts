import { jsonResponse } from "../json-response.js";
import type { PublicHandler } from "../route-handler.js";

/** Liveness only: the same answer whatever the configuration, so it reveals nothing about it. */
export const healthz: PublicHandler = {
  public: true,
  handle: () => jsonResponse(200, { status: "ok" }),
};
