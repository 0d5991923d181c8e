/**
 * Every type built into Postgres (OIDs below 10000, the same on every server), with its
 * decoder. Each row is [oid, typname, decoder, array type oid (0 if none)]; the array types are
 * derived from it, decoding each element with the row's decoder and its delimiter (',' for all
 * but box, ';'). Types not in `values.ts`'s mapping (geometric, network, text search, ranges,
 * reg* names, money, ...) decode to their exact text. int2vector and oidvector print as
 * space-separated lists ('1 2 3'), not array literals, so they stay text too. The arrays of the
 * shared catalogs' row types, and catalog views' row types, have OIDs from 10000 up that initdb
 * assigns, so they are left to the catalog.
 */
import type { Decoder } from './array.js';
import { decodeArray } from './array.js';
import { decodeBytea } from './bytea.js';
import { decodeDate } from './date.js';
import { decodeFloat4, decodeFloat8 } from './floats.js';
import {
  decodeCid,
  decodeInt2,
  decodeInt4,
  decodeInt8,
  decodeOid,
  decodeXid,
  decodeXid8,
} from './integers.js';
import { decodeInterval } from './interval.js';
import { decodeNumeric } from './numeric.js';
import { decodeBool, decodeJson, decodeText } from './scalars.js';
import { decodeTime, decodeTimeTz } from './time.js';
import { decodeTimestamp, decodeTimestampTz } from './timestamp.js';

export interface BuiltinType {
  readonly oid: number;
  /** pg_type.typname; arrays are named after their element, e.g. 'int4[]'. */
  readonly name: string;
  readonly decoder: Decoder;
  /** pg_type.typdelim: the delimiter between this type's elements in an array literal. */
  readonly delimiter: string;
  /** For an array type, its element type's OID. */
  readonly elementOid?: number;
  /** For a scalar type, its array type's OID. */
  readonly arrayOid?: number;
}

const SCALARS: readonly (readonly [oid: number, name: string, decoder: Decoder, arrayOid: number])[] = [
  [16, 'bool', decodeBool, 1000],
  [17, 'bytea', decodeBytea, 1001],
  [18, 'char', decodeText, 1002],
  [19, 'name', decodeText, 1003],
  [20, 'int8', decodeInt8, 1016],
  [21, 'int2', decodeInt2, 1005],
  [22, 'int2vector', decodeText, 1006],
  [23, 'int4', decodeInt4, 1007],
  [24, 'regproc', decodeText, 1008],
  [25, 'text', decodeText, 1009],
  [26, 'oid', decodeOid, 1028],
  [27, 'tid', decodeText, 1010],
  [28, 'xid', decodeXid, 1011],
  [29, 'cid', decodeCid, 1012],
  [30, 'oidvector', decodeText, 1013],
  [32, 'pg_ddl_command', decodeText, 0],
  [71, 'pg_type', decodeText, 210],
  [75, 'pg_attribute', decodeText, 270],
  [81, 'pg_proc', decodeText, 272],
  [83, 'pg_class', decodeText, 273],
  [114, 'json', decodeJson, 199],
  [142, 'xml', decodeText, 143],
  [194, 'pg_node_tree', decodeText, 0],
  [269, 'table_am_handler', decodeText, 0],
  [325, 'index_am_handler', decodeText, 0],
  [600, 'point', decodeText, 1017],
  [601, 'lseg', decodeText, 1018],
  [602, 'path', decodeText, 1019],
  [603, 'box', decodeText, 1020],
  [604, 'polygon', decodeText, 1027],
  [628, 'line', decodeText, 629],
  [650, 'cidr', decodeText, 651],
  [700, 'float4', decodeFloat4, 1021],
  [701, 'float8', decodeFloat8, 1022],
  [705, 'unknown', decodeText, 0],
  [718, 'circle', decodeText, 719],
  [774, 'macaddr8', decodeText, 775],
  [790, 'money', decodeText, 791],
  [829, 'macaddr', decodeText, 1040],
  [869, 'inet', decodeText, 1041],
  [1033, 'aclitem', decodeText, 1034],
  [1042, 'bpchar', decodeText, 1014],
  [1043, 'varchar', decodeText, 1015],
  [1082, 'date', decodeDate, 1182],
  [1083, 'time', decodeTime, 1183],
  [1114, 'timestamp', decodeTimestamp, 1115],
  [1184, 'timestamptz', decodeTimestampTz, 1185],
  [1186, 'interval', decodeInterval, 1187],
  [1248, 'pg_database', decodeText, 0],
  [1266, 'timetz', decodeTimeTz, 1270],
  [1560, 'bit', decodeText, 1561],
  [1562, 'varbit', decodeText, 1563],
  [1700, 'numeric', decodeNumeric, 1231],
  [1790, 'refcursor', decodeText, 2201],
  [2202, 'regprocedure', decodeText, 2207],
  [2203, 'regoper', decodeText, 2208],
  [2204, 'regoperator', decodeText, 2209],
  [2205, 'regclass', decodeText, 2210],
  [2206, 'regtype', decodeText, 2211],
  [2249, 'record', decodeText, 2287],
  [2275, 'cstring', decodeText, 1263],
  [2276, 'any', decodeText, 0],
  [2277, 'anyarray', decodeText, 0],
  [2278, 'void', decodeText, 0],
  [2279, 'trigger', decodeText, 0],
  [2280, 'language_handler', decodeText, 0],
  [2281, 'internal', decodeText, 0],
  [2283, 'anyelement', decodeText, 0],
  [2776, 'anynonarray', decodeText, 0],
  [2842, 'pg_authid', decodeText, 0],
  [2843, 'pg_auth_members', decodeText, 0],
  [2950, 'uuid', decodeText, 2951],
  [2970, 'txid_snapshot', decodeText, 2949],
  [3115, 'fdw_handler', decodeText, 0],
  [3220, 'pg_lsn', decodeText, 3221],
  [3310, 'tsm_handler', decodeText, 0],
  [3361, 'pg_ndistinct', decodeText, 0],
  [3402, 'pg_dependencies', decodeText, 0],
  [3500, 'anyenum', decodeText, 0],
  [3614, 'tsvector', decodeText, 3643],
  [3615, 'tsquery', decodeText, 3645],
  [3642, 'gtsvector', decodeText, 3644],
  [3734, 'regconfig', decodeText, 3735],
  [3769, 'regdictionary', decodeText, 3770],
  [3802, 'jsonb', decodeJson, 3807],
  [3831, 'anyrange', decodeText, 0],
  [3838, 'event_trigger', decodeText, 0],
  [3904, 'int4range', decodeText, 3905],
  [3906, 'numrange', decodeText, 3907],
  [3908, 'tsrange', decodeText, 3909],
  [3910, 'tstzrange', decodeText, 3911],
  [3912, 'daterange', decodeText, 3913],
  [3926, 'int8range', decodeText, 3927],
  [4066, 'pg_shseclabel', decodeText, 0],
  [4072, 'jsonpath', decodeText, 4073],
  [4089, 'regnamespace', decodeText, 4090],
  [4096, 'regrole', decodeText, 4097],
  [4191, 'regcollation', decodeText, 4192],
  [4451, 'int4multirange', decodeText, 6150],
  [4532, 'nummultirange', decodeText, 6151],
  [4533, 'tsmultirange', decodeText, 6152],
  [4534, 'tstzmultirange', decodeText, 6153],
  [4535, 'datemultirange', decodeText, 6155],
  [4536, 'int8multirange', decodeText, 6157],
  [4537, 'anymultirange', decodeText, 0],
  [4538, 'anycompatiblemultirange', decodeText, 0],
  [4600, 'pg_brin_bloom_summary', decodeText, 0],
  [4601, 'pg_brin_minmax_multi_summary', decodeText, 0],
  [5017, 'pg_mcv_list', decodeText, 0],
  [5038, 'pg_snapshot', decodeText, 5039],
  [5069, 'xid8', decodeXid8, 271],
  [5077, 'anycompatible', decodeText, 0],
  [5078, 'anycompatiblearray', decodeText, 0],
  [5079, 'anycompatiblenonarray', decodeText, 0],
  [5080, 'anycompatiblerange', decodeText, 0],
  [6101, 'pg_subscription', decodeText, 0],
];

function buildTable(): ReadonlyMap<number, BuiltinType> {
  const table = new Map<number, BuiltinType>();
  for (const [oid, name, decoder, arrayOid] of SCALARS) {
    const delimiter = oid === 603 ? ';' : ',';
    table.set(oid, { oid, name, decoder, delimiter, ...(arrayOid ? { arrayOid } : {}) });
    if (arrayOid === 0) continue;
    const arrayName = `${name}[]`;
    const code = delimiter.charCodeAt(0);
    table.set(arrayOid, {
      oid: arrayOid,
      name: arrayName,
      decoder: (text) => decodeArray(text, code, decoder, arrayName),
      delimiter: ',',
      elementOid: oid,
    });
  }
  return table;
}

/** Built-in types by OID, arrays included. */
export const BUILTIN_TYPES: ReadonlyMap<number, BuiltinType> = buildTable();

export function builtinType(oid: number): BuiltinType | undefined {
  return BUILTIN_TYPES.get(oid);
}
