/**
 * Schema migrations, numbered. Each is applied once, in its own transaction, and recorded in `schema_version`
 * (version, name, applied_at). Never edit a migration that was released: add the next number. A store applies
 * every migration whose version it has not recorded (not only those above its highest), so numbers developed on
 * separate branches can be merged in any order.
 */
import { migration001 } from './001-initial.js'
import { migration002 } from './002-search-index.js'
import { migration003 } from './003-search-index-deferred.js'
import { migration004 } from './004-log-direction-indexes.js'
import { migration005 } from './005-operational-queues.js'
import { migration006 } from './006-incoming-document-index.js'
import { migration007 } from './007-accepted-dedupe.js'
import { migration008 } from './008-retention-purge.js'
import { migration009 } from './009-operators-state-names.js'
import { migration010 } from './010-failsafe-delivery-attempts.js'
import { migration011 } from './011-tsa-log-anchors.js'
import { migration012 } from './012-relay-leases.js'
import { migration013 } from './013-awaiting-signature.js'
import { migration014 } from './014-blob-parts.js'

export interface Migration {
  version: number
  name: string
  /** What it does, in one line: logged when it is applied at startup (test/integration/store/upgrade.test.ts checks each has one). */
  description?: string
  /** SQL for SQLite (better-sqlite3 `exec`). */
  sqlite: string
  /** SQL for PostgreSQL (one multi-statement query). */
  pg: string
}

export const MIGRATIONS: readonly Migration[] = [migration001, migration002, migration003, migration004, migration005, migration006, migration007, migration008, migration009, migration010, migration011, migration012, migration013, migration014]

export const LATEST_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version

/** The startup log line of an applied migration. */
export const migrationMessage = (m: Migration): string => `store migration ${String(m.version).padStart(3, '0')} ${m.name} applied: ${m.description ?? m.name}`
