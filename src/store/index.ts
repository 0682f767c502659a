/** The store: packages, deliveries, the hash-chained event log, idempotency keys and the inbox. */
export type { Store } from './store.js'
export type * from './types.js'
export { openSqliteStore, quiesceSqliteFile, SqliteStore, mapSqliteError, type SqliteStoreOptions, type StoreLogger } from './sqlite-store.js'
export { outgoingMoves, incomingMoves } from './state-machine.js'
export { canonicalRow, rowHash, canonicalJson, GENESIS_HASH, CHAIN_VERSION, type ChainRow } from './hash-chain.js'
export { openPgStore, PgStore, mapPgError, type PgStoreOptions } from './pg-store.js'
export { newId } from './ids.js'
export { openStore, isPgUrl, type OpenStoreOptions } from './open.js'
