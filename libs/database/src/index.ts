export { DatabaseModule, type DatabaseOptions } from './database.module';
export { ensureDatabase, quoteIdent } from './ensure-database';
