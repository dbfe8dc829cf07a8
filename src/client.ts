import * as v from "valibot";
import { TargetClientOptionsSchema, type TargetClientOptions } from "./client-options.js";
import { updateRequest } from "./build-update-request.js";
import { isTargetHttpError, TargetResponseError } from "./errors.js";
import { createSend } from "./http.js";
import { parseProfile, profileRequest, type ProfileLookup, type TargetProfile } from "./profile-fetch.js";
import { ProfileUpdateSchema, type ProfileUpdate } from "./profile-update.js";
import { parseUpdateResponse, type UpdateResult } from "./update-response.js";
import { parseOrThrow } from "./validation.js";

/**
 * Per-call options of `updateProfile`.
 * @example
 * await target.updateProfile(update, { signal: AbortSignal.timeout(5_000), method: "POST" });
 */
export interface UpdateProfileOptions {
  readonly signal?: AbortSignal;
  /** Force a method. Default: GET while the whole URL fits in 8 KB, otherwise POST. */
  readonly method?: "GET" | "POST";
}

/**
 * Per-call options of `getProfile`.
 * @example
 * await target.getProfile({ thirdPartyId: "crm-42" }, { signal });
 */
export interface GetProfileOptions {
  readonly signal?: AbortSignal;
}

/** A Target Profile API client. Create it with `createTargetClient`. */
export interface TargetClient {
  /**
   * Sends one visitor's attributes (Single Profile Update). Resolves once Target accepted them; Target
   * applies them asynchronously and only to profiles that already exist.
   * @example
   * await target.updateProfile({ mbox3rdPartyId: "crm-42", attributes: { tier: "gold", ltv: 1200 } });
   */
  updateProfile(update: ProfileUpdate, options?: UpdateProfileOptions): Promise<UpdateResult>;
  /**
   * Fetches a profile; `undefined` when Target has none for that id.
   * @example
   * const profile = await target.getProfile({ thirdPartyId: "crm-42" });
   * console.log(profile?.profileAttributes.tier?.value);
   */
  getProfile(lookup: ProfileLookup, options?: GetProfileOptions): Promise<TargetProfile | undefined>;
}

const UpdateOptionsSchema = v.optional(
  v.object({
    signal: v.optional(v.instance(AbortSignal, "signal must be an AbortSignal")),
    method: v.optional(v.picklist(["GET", "POST"], "method must be GET or POST")),
  }, "options must be an object"),
  {},
);

/**
 * Creates a client for one Target account. Options are checked now: an invalid one throws a
 * `TargetValidationError` naming it.
 * @example
 * import { createTargetClient } from "target-profile";
 * const target = createTargetClient({ clientCode: "acme", token: env.TARGET_TOKEN });
 * await target.updateProfile({ mbox3rdPartyId: "crm-42", attributes: { tier: "gold" } });
 */
export function createTargetClient(options: TargetClientOptions): TargetClient {
  const config = parseOrThrow(TargetClientOptionsSchema, options);
  const send = createSend(config);

  return {
    async updateProfile(update, callOptions) {
      const { signal, method } = parseOrThrow(UpdateOptionsSchema, callOptions);
      const request = updateRequest(parseOrThrow(ProfileUpdateSchema, update), config, method);
      const response = await send(request, { operation: "updateProfile", signal });
      return parseUpdateResponse(await response.text(), request.method as "GET" | "POST");
    },

    async getProfile(lookup, callOptions) {
      const request = profileRequest(lookup, config);
      try {
        const response = await send(request, { operation: "getProfile", signal: callOptions?.signal });
        return parseProfile(await response.json().catch(() => {
          throw new TargetResponseError("the answer is not JSON", "getProfile");
        }));
      } catch (error) {
        if (isTargetHttpError(error) && error.status === 404) return undefined;
        throw error;
      }
    },
  };
}
