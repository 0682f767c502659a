/**
 * Time-ordered UUIDs (version 7 layout: 48-bit Unix milliseconds, then random bits). Rows created together get
 * neighbouring keys, so the unique indexes on ids grow at their right edge instead of touching a random page
 * per insert (less WAL and cache churn at a thousand packages per second). Still 74 random bits per id.
 */
import { randomUUID } from 'node:crypto'

export function newId(now: number = Date.now()): string {
  const ts = now.toString(16).padStart(12, '0')
  // randomUUID() is "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx": keep its random tail and variant, set version 7
  return `${ts.slice(0, 8)}-${ts.slice(8, 12)}-7${randomUUID().slice(15)}`
}
