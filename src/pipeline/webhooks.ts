/** Webhooks (src/pipeline/webhooks/): kept at this path for its importers. */
export * from './webhooks/index.js'
