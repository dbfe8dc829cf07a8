// target-profile/emulator: an in-memory Adobe Target speaking the Profile APIs, for tests and local runs.
//   const target = createTargetEmulator({ clientCode: "acme" });
//   createTargetClient({ clientCode: "acme", fetch: target.fetch });
export { createTargetEmulator } from "./emulator.js";
export type {
  ConsecutiveBatches,
  DeliveryStats,
  EmulatorCall,
  Fault,
  FaultBehaviour,
  Operation,
  ProfileLookup,
  ProfileSeed,
  StoredProfile,
  TargetEmulator,
  TargetEmulatorOptions,
  VisibilityDelay,
} from "./types.js";
