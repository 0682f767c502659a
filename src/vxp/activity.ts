/**
 * What the operator console shows of the VXP systems (vxp.server.systems) that call this gateway: per system, the
 * calls since the process started, how many answered FAIL, and the last call (when, which operation, its
 * ErrorCode). Kept in memory, one entry per configured system (bounded); only authenticated calls are counted, so a
 * stranger naming a system cannot write here. No secret is ever part of it.
 */
import type { VxpSystemView } from '../api/routes/health.js'
import type { Config } from '../config.js'

export interface VxpSystemActivity {
  readonly systemId: string
  readonly calls: number
  readonly failures: number
  readonly lastCallAt?: string
  readonly lastOperation?: string
  /** `"0"` for OK, else the GW_ERR code the system was answered. */
  readonly lastErrorCode?: string
  readonly lastFailureAt?: string
}

export interface VxpActivity {
  record(systemId: string, operation: string, errorCode: string, at?: Date): void
  get(systemId: string): VxpSystemActivity | undefined
}

export function createVxpActivity(clock: () => Date = () => new Date()): VxpActivity {
  const m = new Map<string, { calls: number; failures: number; lastCallAt?: string; lastOperation?: string; lastErrorCode?: string; lastFailureAt?: string }>()
  return {
    record(systemId, operation, errorCode, at = clock()) {
      let e = m.get(systemId)
      if (!e) {
        e = { calls: 0, failures: 0 }
        m.set(systemId, e)
      }
      e.calls++
      e.lastCallAt = at.toISOString()
      e.lastOperation = operation
      e.lastErrorCode = errorCode
      if (errorCode !== '0') {
        e.failures++
        e.lastFailureAt = e.lastCallAt
      }
    },
    get(systemId) {
      const e = m.get(systemId)
      return e ? { systemId, ...e } : undefined
    },
  }
}

/** The console's view of every configured system: id, agencies by name, activity; built field by field (no secret). */
export function vxpSystemViews(config: Config, activity: VxpActivity): () => VxpSystemView[] {
  const names = new Map(config.agencies.map((a) => [a.organId.toUpperCase(), a.name]))
  return () =>
    (config.vxp?.server?.systems ?? []).map((s) => {
      const a = activity.get(s.systemId)
      return {
        systemId: s.systemId,
        agencies: s.organIds.map((o) => ({ organId: o, ...(names.has(o.toUpperCase()) ? { name: names.get(o.toUpperCase()) as string } : {}) })),
        calls: a?.calls ?? 0,
        failures: a?.failures ?? 0,
        ...(a?.lastCallAt ? { lastCallAt: a.lastCallAt } : {}),
        ...(a?.lastOperation ? { lastOperation: a.lastOperation } : {}),
        ...(a?.lastErrorCode ? { lastErrorCode: a.lastErrorCode } : {}),
        ...(a?.lastFailureAt ? { lastFailureAt: a.lastFailureAt } : {}),
      }
    })
}
