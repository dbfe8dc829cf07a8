// Where Target may send a call on: its answers name edge hosts (a batch's status URL, the Delivery
// API's `edgeHost`), and a call follows one only when it is the configured host or one of Adobe's
// edges under .tt.omtrdc.net, always over https there. Anything else would receive personal data
// (and, for the Profile APIs, the token) that was meant for Target.
import type { Endpoint } from "./endpoint.js";

const EDGE_DOMAIN = ".tt.omtrdc.net";

/**
 * `url` as it may be followed: on the configured host, with the configured scheme; under
 * .tt.omtrdc.net, over https. `undefined` when it must not be (another host, or credentials in it).
 */
export function trustedUrl(url: URL, endpoint: Endpoint): URL | undefined {
  if (url.username || url.password) return undefined;
  const configured = new URL(endpoint.baseUrl);
  if (url.host === configured.host) {
    url.protocol = configured.protocol;
    return url;
  }
  if (!url.hostname.endsWith(EDGE_DOMAIN)) return undefined;
  url.protocol = "https:";
  return url;
}

/**
 * The base URL (no trailing slash) of an edge host Target named (`mboxedge28.tt.omtrdc.net`), or
 * `undefined` when it is not a bare host name to trust: the configured base URL when it names the
 * configured host, `https://HOST` when it is under .tt.omtrdc.net.
 */
export function trustedEdgeBaseUrl(edgeHost: string, endpoint: Endpoint): string | undefined {
  let url: URL;
  try {
    url = new URL(`https://${edgeHost}`);
  } catch {
    return undefined;
  }
  // Only a host (and port) in the same spelling: no path, query, user or other trick inside it.
  if (url.host !== edgeHost.toLowerCase() || url.href !== `https://${url.host}/`) return undefined;
  const trusted = trustedUrl(url, endpoint);
  if (trusted === undefined) return undefined;
  return trusted.host === new URL(endpoint.baseUrl).host ? endpoint.baseUrl : trusted.origin;
}
