/**
 * Which decoder reads a column's text, by type OID. Built-in types (see builtin-types.ts) are
 * known statically; user-defined ones are registered from catalog info (type-catalog.ts):
 * - a domain decodes as its base type, recursively (domains over domains, over arrays);
 * - an array decodes each element with its element type's decoder, split on the element
 *   type's delimiter (so arrays of domains and arrays of enums work);
 * - enums, composites, ranges, multiranges, pseudo types and extension base types decode to
 *   their exact text.
 * An OID nobody registered decodes to its exact text: `decoderFor` never throws. Ask
 * `unknownOids` which OIDs (including a registered type's base or element) still need a
 * catalog lookup. Resolved decoders are cached; `register` drops the cache, since a new or
 * changed type can change what others resolve to.
 */
import type { Decoder } from './array.js';
import { decodeArray } from './array.js';
import { BUILTIN_TYPES } from './builtin-types.js';
import { decodeText } from './scalars.js';

export type TypeKind = 'base' | 'domain' | 'enum' | 'composite' | 'range' | 'multirange' | 'pseudo' | 'array';

/** One pg_type row, as far as decoding needs it. */
export interface TypeInfo {
  readonly oid: number;
  readonly schema: string;
  readonly name: string;
  readonly kind: TypeKind;
  /** For a domain: the type it is over (pg_type.typbasetype). */
  readonly baseTypeOid?: number;
  /** For an array: its element type (pg_type.typelem). */
  readonly elementOid?: number;
  /** pg_type.typdelim: the delimiter between elements of an array of this type (default ','). */
  readonly delimiter?: string;
}

/** Deeper chains of domains and arrays than this are treated as malformed catalog info. */
const MAX_DEPTH = 32;

export class TypeRegistry {
  readonly #infos = new Map<number, TypeInfo>();
  readonly #resolved = new Map<number, Decoder>();

  /** Registers (or replaces) a user-defined type. Built-in OIDs are fixed and ignored. */
  register(info: TypeInfo): void {
    if (BUILTIN_TYPES.has(info.oid)) return;
    this.#infos.set(info.oid, info);
    this.#resolved.clear();
  }

  registerAll(infos: readonly TypeInfo[]): void {
    for (const info of infos) this.register(info);
  }

  /** The decoder for values of this type; exact text for anything unknown. */
  decoderFor(typeOid: number): Decoder {
    const builtin = BUILTIN_TYPES.get(typeOid);
    if (builtin) return builtin.decoder;
    let decoder = this.#resolved.get(typeOid);
    if (!decoder) {
      decoder = this.#resolve(typeOid, 0);
      this.#resolved.set(typeOid, decoder);
    }
    return decoder;
  }

  /** The registered info for a user-defined type, if any. */
  info(typeOid: number): TypeInfo | undefined {
    return this.#infos.get(typeOid);
  }

  /** A readable name: 'int4', 'int4[]', or schema-qualified for user types; '#oid' if unknown. */
  nameOf(typeOid: number): string {
    const builtin = BUILTIN_TYPES.get(typeOid);
    if (builtin) return builtin.name;
    const info = this.#infos.get(typeOid);
    return info ? `${info.schema}.${info.name}` : `#${typeOid}`;
  }

  /**
   * The OIDs among these, and among the base and element types of those already registered,
   * that are neither built in nor registered: what a catalog lookup must still provide.
   */
  unknownOids(oids: readonly number[]): number[] {
    const unknown: number[] = [];
    const seen = new Set<number>();
    const visit = (oid: number, depth: number): void => {
      if (seen.has(oid) || depth > MAX_DEPTH || BUILTIN_TYPES.has(oid)) return;
      seen.add(oid);
      const info = this.#infos.get(oid);
      if (!info) {
        unknown.push(oid);
        return;
      }
      if (info.kind === 'domain' && info.baseTypeOid) visit(info.baseTypeOid, depth + 1);
      if (info.kind === 'array' && info.elementOid) visit(info.elementOid, depth + 1);
    };
    for (const oid of oids) visit(oid, 0);
    return unknown;
  }

  #resolve(oid: number, depth: number): Decoder {
    const builtin = BUILTIN_TYPES.get(oid);
    if (builtin) return builtin.decoder;
    const info = this.#infos.get(oid);
    if (!info || depth > MAX_DEPTH) return decodeText;
    if (info.kind === 'domain' && info.baseTypeOid) return this.#resolve(info.baseTypeOid, depth + 1);
    if (info.kind === 'array' && info.elementOid) {
      const element = this.#resolve(info.elementOid, depth + 1);
      const delimiter = this.#delimiterOf(info.elementOid, depth + 1).charCodeAt(0);
      const name = `${this.nameOf(info.elementOid)}[]`;
      return (text) => decodeArray(text, delimiter, element, name);
    }
    return decodeText;
  }

  #delimiterOf(oid: number, depth: number): string {
    const builtin = BUILTIN_TYPES.get(oid);
    if (builtin) return builtin.delimiter;
    const info = this.#infos.get(oid);
    if (info?.delimiter) return info.delimiter;
    if (info?.kind === 'domain' && info.baseTypeOid && depth <= MAX_DEPTH) {
      return this.#delimiterOf(info.baseTypeOid, depth + 1);
    }
    return ',';
  }
}
