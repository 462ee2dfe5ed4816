// Property-based fuzzing of gRPC services: valid requests mutated field by
// field (or byte by byte), sent raw, and checked for INTERNAL/UNKNOWN, replies
// over 16 KB, and writes behind refusals. Split into fuzz/* to keep each part small.

export { fieldsOf, pathText, type FieldPath, type FieldRef } from './fuzz/fields';
export { MUTATION_KINDS, MAX_REQUEST_BYTES, buildCase, eligibleFields, type MessageCodec, type MutationKind } from './fuzz/mutations';
export { callRaw, callRawStream, codecOf, createRawClient, STREAM_IDLE_MS, type RawReply } from './fuzz/raw-call';
export { changedTables, databaseFingerprint, fingerprintAll, type DatabaseFingerprint } from './fuzz/fingerprint';
export { fuzzSettingsFromEnv, DEFAULT_FUZZ_SEED, type FuzzSettings } from './fuzz/settings';
export { FuzzTally, type Finding } from './fuzz/tally';
export { callTarget, fuzzServices, fuzzTarget, MAX_FUZZ_REPLY_BYTES, type FuzzRun, type FuzzTarget } from './fuzz/runner';
export * from './fuzz/wire';
