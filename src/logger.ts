/**
 * Logging: pino options shared by the API (Fastify's logger), the relay and the transport. JSON lines on stdout.
 *
 * Redaction: API keys (Authorization header), passwords, private keys, PKCS#12 files, signature bodies and
 * attachment data never reach the log, wherever they appear in a logged object (request, config, error params).
 */
import { pino, type Logger, type LoggerOptions } from 'pino'
import type { LogLevel } from './config.js'

/** Paths pino replaces with "[redacted]". `*` matches one level; the list covers how these values are logged. */
export const REDACT_PATHS: readonly string[] = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'headers.authorization',
  'authorization',
  'password',
  '*.password',
  '*.*.password',
  'passwordEnv',
  'key',
  '*.key',
  'keyPem',
  '*.keyPem',
  '*.*.keyPem',
  'privateKey',
  '*.privateKey',
  '*.*.privateKey',
  'p12',
  '*.p12',
  '*.*.p12',
  'secret',
  '*.secret',
  '*.*.secret',
  'signature',
  '*.signature',
  'headers.signature',
  '*.headers.signature',
  'bytes',
  '*.bytes',
  'data',
  'attachments[*].data',
  '*.attachments[*].data',
  'body.attachments[*].data',
  'vxp.axis.secret',
  'vxp.server.systems[*].secret',
  'config.vxp.axis.secret',
  'config.vxp.server.systems[*].secret',
  'req.headers["xroadvnpt-hash-header"]',
  'amqp.url',
  'config.amqp.url',
]

export interface LoggerConfig {
  level: LogLevel
  /** Name in every line. Default `lienthong`. */
  name?: string
}

/** pino options: level, redaction, ISO timestamps, error serialiser. */
export function loggerOptions(cfg: LoggerConfig): LoggerOptions {
  return {
    name: cfg.name ?? 'lienthong',
    level: cfg.level,
    redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    serializers: { err: pino.stdSerializers.err },
    formatters: { level: (label) => ({ level: label }) },
  }
}

/** A pino logger with the gateway's options; `destination` for tests (default stdout). */
export function createLogger(cfg: LoggerConfig, destination?: pino.DestinationStream): Logger {
  return destination ? pino(loggerOptions(cfg), destination) : pino(loggerOptions(cfg))
}

export type { Logger }
