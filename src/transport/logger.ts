/**
 * The minimal logger the transport writes to. A pino logger fits as is (`logger.child({ area: 'transport' })`);
 * the default is {@link silentLogger}, so a library user sees nothing unless they pass one.
 *
 * Every call is `(fields, message)`: the fields object never contains a password (URLs are redacted first).
 */
export interface TransportLogger {
  error(obj: Record<string, unknown>, msg: string): void
  warn(obj: Record<string, unknown>, msg: string): void
  info(obj: Record<string, unknown>, msg: string): void
  debug(obj: Record<string, unknown>, msg: string): void
}

const noop = (): void => {}

/** A logger that drops everything (the default; a null object instead of `if (logger)` checks). */
export const silentLogger: TransportLogger = Object.freeze({ error: noop, warn: noop, info: noop, debug: noop })

/** `amqp://user:secret@host/vh` → `amqp://user:***@host/vh`; anything unparsable is replaced entirely. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url)
    if (u.password !== '') u.password = '***'
    return u.toString()
  } catch {
    return '<unparsable AMQP URL>'
  }
}

/** A short printable reason for an unknown thrown value. */
export function reasonOf(err: unknown): string {
  if (err instanceof Error) return err.message
  return String(err)
}
