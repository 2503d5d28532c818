export { decodeFloat8Array, encodeFloat8Array, encodeInt8Array, encodeTextArray } from './binary-array';
export { DatabaseModule, type DatabaseOptions } from './database.module';
export { ensureDatabase, quoteIdent } from './ensure-database';
