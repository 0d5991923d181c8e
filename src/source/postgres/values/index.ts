/**
 * Text → value decoding for every Postgres type pgoutput sends: `TypeRegistry.decoderFor(oid)`
 * is the entry point; `loadTypeInfo` feeds it user-defined types from the catalog. The
 * individual decoders are exported for callers that know the type statically.
 */
export { type Decoder, decodeArray } from './array.js';
export { BUILTIN_TYPES, type BuiltinType, builtinType } from './builtin-types.js';
export { decodeBytea } from './bytea.js';
export { decodeDate } from './date.js';
export { decodeError } from './decode-error.js';
export { decodeFloat4, decodeFloat8 } from './floats.js';
export {
  decodeCid,
  decodeInt2,
  decodeInt4,
  decodeInt8,
  decodeOid,
  decodeXid,
  decodeXid8,
} from './integers.js';
export { decodeInterval, INTERVAL_INFINITY, INTERVAL_NEG_INFINITY } from './interval.js';
export { decodeNumeric } from './numeric.js';
export { decodeBool, decodeJson, decodeText } from './scalars.js';
export { decodeTime, decodeTimeTz } from './time.js';
export { decodeTimestamp, decodeTimestampTz } from './timestamp.js';
export { loadTypeInfo } from './type-catalog.js';
export { type TypeInfo, type TypeKind, TypeRegistry } from './type-registry.js';
