import * as v from "valibot";
import { BaseUrlSchema, ClientCodeSchema, defaultBaseUrl, TokenSchema } from "../client/client-options.js";

/** Where and as whom requests go: what the pure request builders need of the client's options. */
export interface Endpoint {
  readonly clientCode: string;
  readonly baseUrl: string;
  readonly token?: string | undefined;
}

export const EndpointOptionsSchema = v.pipe(
  v.object(
    { clientCode: ClientCodeSchema, baseUrl: v.optional(BaseUrlSchema), token: v.optional(TokenSchema) },
    (issue) => (issue.path ? "is required" : "options must be an object"),
  ),
  v.transform((options): Endpoint => ({ ...options, baseUrl: options.baseUrl ?? defaultBaseUrl(options.clientCode) })),
);

/** Headers every call carries: the Bearer token when the account requires authentication. */
export function authHeaders(endpoint: Endpoint): Record<string, string> {
  return endpoint.token ? { authorization: `Bearer ${endpoint.token}` } : {};
}
