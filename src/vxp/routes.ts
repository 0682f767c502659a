/**
 * `vxp.routes`: which transport a recipient's delivery takes. Each route lists OrganIds or patterns; `*` is one
 * dot-separated part (`000.00.*.H29`), or, as the last part, anything after it (`000.01.*`). Case-insensitive; the
 * first matching route wins; a recipient no route names goes over AMQP.
 */
import type { VxpRouteConfig } from '../config.js'

export type Via = 'axis' | 'amqp'

function patternOf(p: string): RegExp {
  const parts = p.trim().toUpperCase().split('.')
  const re = parts
    .map((part, i) => (part === '*' ? (i === parts.length - 1 ? '.+' : '[^.]+') : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\\\*/g, '[^.]*')))
    .join('\\.')
  return new RegExp(`^${re}$`)
}

/** A matcher over the configured routes (patterns compiled once). */
export function routeMatcher(routes: readonly VxpRouteConfig[]): (organId: string) => Via {
  const compiled = routes.map((r) => ({ via: r.via, res: r.organIds.map(patternOf) }))
  const cache = new Map<string, Via>()
  return (organId) => {
    const id = organId.trim().toUpperCase()
    let v = cache.get(id)
    if (!v) {
      v = compiled.find((r) => r.res.some((re) => re.test(id)))?.via ?? 'amqp'
      if (cache.size < 10_000) cache.set(id, v)
    }
    return v
  }
}

export function matchRoute(routes: readonly VxpRouteConfig[], organId: string): Via {
  return routeMatcher(routes)(organId)
}
