// Where and as whom requests go: the client code, the base URL and the token, checked, as the client's
// options and the pure request builders take them.
import * as v from "valibot";
import { httpBaseUrlSchema, nonEmptyString, objectMessage } from "./schemas.js";

// A DNS label: Target puts the client code in the host name (CLIENTCODE.tt.omtrdc.net).
const DNS_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

export const ClientCodeSchema = v.pipe(
  v.string("clientCode must be a string"),
  v.regex(
    DNS_LABEL,
    "clientCode must be a DNS label: letters, digits and hyphens, at most 63 characters, no hyphen at either end",
  ),
);

export const BaseUrlSchema = httpBaseUrlSchema("baseUrl");

/** Where an account's Profile APIs are served. */
export const defaultBaseUrl = (clientCode: string) => `https://${clientCode}.tt.omtrdc.net`;

export const TokenSchema = nonEmptyString("token");

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
      objectMessage(
        "options must be an object",
        `unknown option: this takes ${["clientCode", "baseUrl", "token", ...Object.keys(entries)].join(", ")}`,
      ),
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
