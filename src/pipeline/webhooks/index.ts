/**
 * Webhooks: the gateway tells a DMS client that something happened (a document arrived, a status changed one of
 * its deliveries, a sender asks to recall a document) by POSTing signed JSON to the client's URL.
 *
 * - events.ts: the event types, their data, and `attachWebhooks` (the receive pipeline's events → notifications)
 * - subscriptions.ts: which clients get them (configuration)
 * - dispatcher.ts: delivery with retries, kept in the store's webhook outbox across restarts
 */
export {
  WEBHOOK_EVENT_TYPES,
  attachWebhooks,
  documentReceivedEvent,
  recallRequestedEvent,
  statusChangedEvent,
  type IncomingEventSource,
  type WebhookEvent,
  type WebhookEventType,
  type WebhookNotifier,
} from './events.js'
export { webhookSubscriptions, type WebhookSubscriptions, type WebhookTarget } from './subscriptions.js'
export {
  createWebhookDispatcher,
  webhookSignature,
  type WebhookBody,
  type WebhookDispatcher,
  type WebhookDispatcherEvents,
  type WebhookDispatcherOptions,
} from './dispatcher.js'
