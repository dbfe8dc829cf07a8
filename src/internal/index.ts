// target-profile's internal entry: what the relay Worker needs of the core beyond its public API
// (src/index.ts). Not a package export, so nothing here is promised to users; the Worker imports the
// core through this barrel or the public one only (the dependency rules in .dependency-cruiser.cjs).
export { concatBytes, toHex } from "./bytes.js";
export { ClientCodeSchema } from "./endpoint.js";
export { objectMessage } from "./schemas.js";
export { sleep } from "./sleep.js";
export { formatPath, parseOrThrow } from "./validation.js";
export { singleUpdateSizeIssue } from "../single-update/build-update-request.js";
export { deliveryCallCount, deliveryIssues } from "../realtime/realtime-update.js";
export {
  attributeRecord,
  AttributeNameSchema,
  AttributeValueSchema,
  ProfileUpdateSchema,
  thirdPartyIdSchema,
  toCheckedUpdate,
  type CheckedUpdate,
} from "../profile-update.js";
// The relay's wire contract: the Worker is its other side.
export * from "../relay/contract.js";
