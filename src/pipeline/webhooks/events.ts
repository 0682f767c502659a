/**
 * Webhook events: what a DMS is told (the event types and their `data`), built from what the receive pipeline
 * reports. The body and headers of a request are described in dispatcher.ts; who gets them in subscriptions.ts.
 */
import type { Logger } from '../../logger.js'
import type { Direction, StatusCode } from '../../document/delivery.js'
import type { Store, StoredIncoming } from '../../store/index.js'

export const WEBHOOK_EVENT_TYPES = ['document.received', 'status.changed', 'recall.requested'] as const
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number]

export const isWebhookEventType = (s: string): s is WebhookEventType => (WEBHOOK_EVENT_TYPES as readonly string[]).includes(s)

/** What happened, as given to `notify`. */
export interface WebhookEvent {
  type: WebhookEventType
  /** The event's own facts (ids, codes); JSON. */
  data: Record<string, unknown>
  /** Default: now. */
  occurredAt?: Date
}

/** The direction of the traffic an event is about (for its entries in the event log). */
export const EVENT_DIRECTION: Record<WebhookEventType, Direction> = { 'document.received': 'in', 'status.changed': 'out', 'recall.requested': 'in' }

/** What `attachWebhooks` needs of the dispatcher. */
export interface WebhookNotifier {
  /** Queue the event for every client of the hosted agency `clientOrganId` that has a webhook. Never throws, never waits. */
  notify(clientOrganId: string, event: WebhookEvent): void
}

/** document.received for a document stored in a hosted agency's inbox. */
export function documentReceivedEvent(i: StoredIncoming): WebhookEvent {
  return {
    type: 'document.received',
    occurredAt: new Date(i.receivedAt),
    data: {
      inboxId: i.id,
      ...(i.documentId ? { documentId: i.documentId } : {}),
      ...(i.senderOrganId ? { sender: i.senderOrganId } : {}),
      ...(i.recipient ? { recipient: i.recipient } : {}),
      ...(i.subject ? { subject: i.subject } : {}),
      ...(i.codeNumber || i.codeNotation ? { code: `${i.codeNumber ?? ''}/${i.codeNotation ?? ''}` } : {}),
      ...(i.promulgationDate ? { promulgationDate: i.promulgationDate } : {}),
      priority: i.priority,
      ...(i.relatedId ? { relatedId: i.relatedId } : {}),
      ...(typeof i.metadata.businessType === 'number' ? { businessType: i.metadata.businessType } : {}),
      url: `/v1/inbox/${encodeURIComponent(i.id)}`,
    },
  }
}

/** status.changed: a status package from a recipient moved (or confirmed) one of our deliveries. */
export function statusChangedEvent(s: {
  packageId?: string
  deliveryId?: string
  documentId?: string
  recipient?: string
  statusCode: StatusCode
  state?: string
  changed: boolean
  description?: string
  statusPackageId?: string
  /** The recall request (revoke document) a 15/16 answers, when it is not the document itself. */
  requestPackageId?: string
  at?: Date
}): WebhookEvent {
  return {
    type: 'status.changed',
    ...(s.at ? { occurredAt: s.at } : {}),
    data: {
      ...(s.packageId ? { packageId: s.packageId, url: `/v1/documents/${encodeURIComponent(s.packageId)}` } : {}),
      ...(s.deliveryId ? { deliveryId: s.deliveryId } : {}),
      ...(s.documentId ? { documentId: s.documentId } : {}),
      ...(s.recipient ? { recipient: s.recipient } : {}),
      statusCode: s.statusCode,
      ...(s.state ? { state: s.state } : {}),
      changed: s.changed,
      ...(s.description ? { description: s.description } : {}),
      ...(s.statusPackageId ? { statusPackageId: s.statusPackageId } : {}),
      ...(s.requestPackageId ? { requestPackageId: s.requestPackageId } : {}),
    },
  }
}

/** recall.requested: the sender of a document in our inbox asks to take it back (status 13 or a revoke document). */
export function recallRequestedEvent(r: { inboxId: string; documentId?: string; sender?: string; reason?: string; method: 'status13' | 'revoke'; requestId?: string; at?: Date }): WebhookEvent {
  return {
    type: 'recall.requested',
    ...(r.at ? { occurredAt: r.at } : {}),
    data: {
      inboxId: r.inboxId,
      ...(r.documentId ? { documentId: r.documentId } : {}),
      ...(r.sender ? { sender: r.sender } : {}),
      ...(r.reason ? { reason: r.reason } : {}),
      method: r.method,
      ...(r.requestId ? { requestId: r.requestId } : {}),
      url: `/v1/inbox/${encodeURIComponent(r.inboxId)}`,
      answer: `/v1/inbox/${encodeURIComponent(r.inboxId)}/status`,
    },
  }
}

/**
 * The events of the incoming pipeline (src/pipeline/incoming.ts `IncomingEvents`), described structurally so this
 * file does not depend on the pipeline's internals.
 */
export interface IncomingEventSource {
  on(event: 'received', listener: (e: { incoming: StoredIncoming; duplicate: boolean }) => void): unknown
  on(event: 'status', listener: (e: { incoming: StoredIncoming; statusCode: StatusCode; deliveryId?: string; changed: boolean; state?: string }) => void): unknown
}

/**
 * Turn the incoming pipeline's events into webhook notifications for the receiving agency's clients:
 * a new document → document.received; a revoke document (type 1) or a status 13 → recall.requested (about the
 * document it recalls); any other status → status.changed (about our delivery it answers). With `store`, a 15/16
 * that answers a revoke document of ours (POST /v1/documents/:id/recall, method revoke) names the recalled
 * original as `packageId` (the revoke package as `requestPackageId`).
 */
export function attachWebhooks(
  source: IncomingEventSource,
  webhooks: WebhookNotifier,
  opts: { store?: Pick<Store, 'getPackage'>; logger?: Pick<Logger, 'warn'> } = {},
): void {
  source.on('received', ({ incoming: i, duplicate }) => {
    if (duplicate || i.kind !== 'edoc' || i.state === 'rejected' || !i.recipient) return
    const meta = i.metadata as { businessType?: unknown; business?: { reason?: unknown } }
    if (meta.businessType === 1) {
      if (!i.relatedId) return
      webhooks.notify(
        i.recipient,
        recallRequestedEvent({
          inboxId: i.relatedId,
          ...(i.documentId ? { documentId: i.documentId } : {}),
          ...(i.senderOrganId ? { sender: i.senderOrganId } : {}),
          ...(typeof meta.business?.reason === 'string' ? { reason: meta.business.reason } : {}),
          method: 'revoke',
          requestId: i.id,
          at: new Date(i.receivedAt),
        }),
      )
      return
    }
    webhooks.notify(i.recipient, documentReceivedEvent(i))
  })
  source.on('status', ({ incoming: s, statusCode, deliveryId, changed, state }) => {
    if (!s.recipient) return
    const description = typeof s.metadata.description === 'string' && s.metadata.description ? s.metadata.description : undefined
    if (statusCode === '13') {
      if (!s.relatedId) return
      webhooks.notify(
        s.recipient,
        recallRequestedEvent({
          inboxId: s.relatedId,
          ...(s.documentId ? { documentId: s.documentId } : {}),
          ...(s.senderOrganId ? { sender: s.senderOrganId } : {}),
          ...(description ? { reason: description } : {}),
          method: 'status13',
          requestId: s.id,
          at: new Date(s.receivedAt),
        }),
      )
      return
    }
    const recipient = s.recipient
    const send = (packageId: string | undefined, requestPackageId?: string) =>
      webhooks.notify(
        recipient,
        statusChangedEvent({
          ...(packageId ? { packageId } : {}),
          ...(requestPackageId ? { requestPackageId } : {}),
          ...(deliveryId ? { deliveryId } : {}),
          ...(s.documentId ? { documentId: s.documentId } : {}),
          ...(s.senderOrganId ? { recipient: s.senderOrganId } : {}),
          statusCode,
          ...(state ? { state } : {}),
          changed,
          ...(description ? { description } : {}),
          statusPackageId: s.id,
          at: new Date(s.receivedAt),
        }),
      )
    if ((statusCode === '15' || statusCode === '16') && s.relatedId && opts.store) {
      const related = s.relatedId
      opts.store.getPackage(related).then(
        (p) => {
          const original = p?.metadata.form === 'revoke' && typeof p.metadata.originalPackageId === 'string' ? p.metadata.originalPackageId : undefined
          if (original) send(original, related)
          else send(related)
        },
        (e: unknown) => {
          opts.logger?.warn({ err: (e as Error).message }, 'webhook: could not read the package a recall answer refers to')
          send(related)
        },
      )
      return
    }
    send(s.relatedId)
  })
}
