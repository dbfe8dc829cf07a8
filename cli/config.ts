// Where and as whom the command line talks to Target: options first, then the environment.
import {
  createRelayClient,
  createTargetClient,
  isTargetValidationError,
  type RelayClient,
  type TargetClient,
  type TargetClientOptions,
} from "target-profile";
import { UsageError } from "./exit-codes.js";

/** The options every command that calls Target takes. */
export const TARGET_OPTIONS = {
  "client-code": { type: "string" },
  "base-url": { type: "string" },
} as const;

export const TARGET_HELP = `Target:
  --client-code CC     your client code (or TARGET_CLIENT_CODE)
  --base-url URL       where Target is reached, e.g. the emulator's URL (or TARGET_BASE_URL;
                       default https://CC.tt.omtrdc.net)
  The profile API token is read from TARGET_TOKEN (never from the command line).`;

type Env = Readonly<Record<string, string | undefined>>;

/** A client for the Target the options and the environment name, or a `UsageError`. */
export function targetClient(
  options: { "client-code"?: string | undefined; "base-url"?: string | undefined },
  env: Env,
  extra: Pick<TargetClientOptions, "timeout" | "streamUploads"> = {},
): TargetClient {
  const clientCode = options["client-code"] ?? env["TARGET_CLIENT_CODE"];
  if (!clientCode) throw new UsageError("no client code: pass --client-code CC or set TARGET_CLIENT_CODE");
  const baseUrl = options["base-url"] ?? env["TARGET_BASE_URL"];
  const token = env["TARGET_TOKEN"];
  return configured(() =>
    createTargetClient({
      clientCode,
      ...(baseUrl ? { baseUrl } : {}),
      ...(token ? { token } : {}),
      ...extra,
    }),
  );
}

/** A client for the relay at `url`, with RELAY_KEY (and RELAY_SIGNING_SECRET), or a `UsageError`. */
export function relayClient(url: string, env: Env): RelayClient {
  const apiKey = env["RELAY_KEY"];
  if (!apiKey) throw new UsageError("--via-relay needs the relay key in RELAY_KEY");
  const signingSecret = env["RELAY_SIGNING_SECRET"];
  return configured(() =>
    createRelayClient({ url, apiKey, timeout: 120_000, ...(signingSecret ? { signingSecret } : {}) }),
  );
}

/** The client, or what is wrong with its configuration as a `UsageError`. */
function configured<T>(create: () => T): T {
  try {
    return create();
  } catch (error) {
    if (isTargetValidationError(error)) {
      const names: Record<string, string> = {
        clientCode: "the client code",
        baseUrl: "the base URL",
        url: "--via-relay",
      };
      throw new UsageError(error.issues.map(({ path, message }) => `${names[path] ?? path}: ${message}`).join("; "));
    }
    throw error;
  }
}
