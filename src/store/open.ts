/** Open the store named by the configuration: a `postgres://` or `postgresql://` URL, otherwise an SQLite file path. */
import type { PgStoreOptions } from './pg-store.js'
import { openPgStore } from './pg-store.js'
import type { SqliteStoreOptions, StoreLogger } from './sqlite-store.js'
import { openSqliteStore } from './sqlite-store.js'
import type { Store } from './store.js'

export interface OpenStoreOptions {
  logger?: StoreLogger
  sqlite?: Omit<SqliteStoreOptions, 'logger'>
  pg?: Omit<PgStoreOptions, 'logger'>
}

export function isPgUrl(location: string): boolean {
  return /^postgres(ql)?:\/\//i.test(location)
}

export async function openStore(location: string, opts: OpenStoreOptions = {}): Promise<Store> {
  const logger = opts.logger ? { logger: opts.logger } : {}
  return isPgUrl(location) ? openPgStore(location, { ...opts.pg, ...logger }) : openSqliteStore(location, { ...opts.sqlite, ...logger })
}
