import * as v from "valibot";
import { BaseUrlSchema, ClientCodeSchema, defaultBaseUrl, TokenSchema } from "./client-options.js";

/** Where and as whom requests go: what the pure request builders need of the client's options. */
export interface Endpoint {
  readonly clientCode: string;
  readonly baseUrl: string;
  readonly token?: string | undefined;
}

/** The options of a pure request builder: where, as whom, and the builder's own `entries`; no others. */
export const endpointOptionsSchema = <TEntries extends v.ObjectEntries>(entries: TEntries) =>
  v.pipe(
    v.strictObject(
      { clientCode: ClientCodeSchema, baseUrl: v.optional(BaseUrlSchema), token: v.optional(TokenSchema), ...entries },
      (issue) => {
        if (issue.expected === "never") {
          return `unknown option: this takes ${["clientCode", "baseUrl", "token", ...Object.keys(entries)].join(", ")}`;
        }
        return issue.path ? "is required" : "options must be an object";
      },
    ),
    v.transform((options): Endpoint => {
      const { clientCode, baseUrl, token } = options as { clientCode: string; baseUrl?: string; token?: string };
      return { clientCode, baseUrl: baseUrl ?? defaultBaseUrl(clientCode), ...(token !== undefined && { token }) };
    }),
  );

export const EndpointOptionsSchema = endpointOptionsSchema({});

/** Headers every call carries: the Bearer token when the account requires authentication. */
export function authHeaders(endpoint: Endpoint): Record<string, string> {
  return endpoint.token ? { authorization: `Bearer ${endpoint.token}` } : {};
}
