/**
 * Webhook subscriptions: which API clients get notifications, at which URL, signed with which secret, read from
 * the configuration (`agencies[].clients[].webhook`). A client whose webhook has no secret gets nothing (logged).
 */
import type { Config } from '../../config.js'
import type { Logger } from '../../logger.js'

/** One client's webhook. */
export interface WebhookTarget {
  clientId: string
  /** The hosted agency the client belongs to. */
  organId: string
  url: string
  secret: string
}

export interface WebhookSubscriptions {
  /** The webhooks of a hosted agency's clients (OrganId compared case-insensitively). */
  ofAgency(organId: string): readonly WebhookTarget[]
  /** A client's webhook, as configured now (recovered deliveries use the current URL and secret). */
  ofClient(clientId: string): WebhookTarget | undefined
  /** How many clients have a usable webhook. */
  readonly size: number
}

export function webhookSubscriptions(config: Pick<Config, 'agencies'>, log?: Pick<Logger, 'error'>): WebhookSubscriptions {
  const byAgency = new Map<string, WebhookTarget[]>()
  const byClient = new Map<string, WebhookTarget>()
  for (const a of config.agencies) {
    for (const c of a.clients) {
      if (!c.webhook) continue
      if (!c.webhook.secret) {
        log?.error({ clientId: c.id, organId: a.organId }, `webhook of client ${c.id} has no secret (webhook.secret or webhook.secretEnv): no events are sent to it`)
        continue
      }
      const t: WebhookTarget = { clientId: c.id, organId: a.organId, url: c.webhook.url, secret: c.webhook.secret }
      const key = a.organId.toUpperCase()
      byAgency.set(key, [...(byAgency.get(key) ?? []), t])
      byClient.set(c.id, t)
    }
  }
  return {
    ofAgency: (organId) => byAgency.get(organId.trim().toUpperCase()) ?? [],
    ofClient: (clientId) => byClient.get(clientId),
    size: byClient.size,
  }
}
