/**
 * The trust watch: when what the gateway relies on stops being valid, said before it happens.
 *
 * Every `intervalMs` (default 10 min, and once at start) it lists, with their end of validity:
 *   - `signing`       each hosted agency's signing certificate, and `chain` the certificates sent with it;
 *   - `anchor`, `intermediate`   the files of trust.anchorsPaths and trust.intermediatesPaths (read again each
 *                     round, so a renewed file is seen), `tsa-anchor`, `tsa-intermediate` those of trust.tsa;
 *   - `crl`           the CRL files of trust.crlPaths (their nextUpdate), `crl-fetched` the CRLs fetched from
 *                     distribution points and kept by the process's revocation checker (trust.revocation).
 * Each item gets a level by the days left: `ok`, `days-30` (30 days or less), `days-7`, `days-1`, `expired`; a
 * warning is logged once when an item enters a level worse than ok (with a renewed file, its new item starts over).
 *
 * What it gives:
 *   - the gauge `lienthong_trust_expiry_days{kind, agency, subject, fingerprint}` (days left, negative when passed,
 *     computed at scrape time from the last round's list; fingerprint: the first 16 hex digits of the SHA-256 of the
 *     certificate or CRL);
 *   - with trust.revocation, `lienthong_revocation_cache_hits_total{source}` and `_misses_total{source}` (source
 *     `ocsp`, `crl`): how often the process's revocation checker answered from its cache;
 *   - `lienthong_signing_token_up{agency}` (1 / 0) for every agency whose key is in a PKCS#11 token; the tokens are
 *     probed every `tokenProbeMs` (default 5 s), so a token pulled out while nothing is signed shows at once, and a
 *     token that is down is reopened by the probe (sending resumes without waiting for a signature to fail first,
 *     and `onTokenUp` wakes the re-signer, src/pipeline/resigner.ts, for the packages that waited for it);
 *   - `readiness()`: not ok when an own signing certificate is expired, or a needed anchor is (the anchor an own
 *     signing certificate's chain ends at, or every anchor when all of them are expired): our packages would be
 *     refused by every recipient, or no incoming package could be verified. Other expired items are reported in
 *     `expired` without failing readiness (an expired CRL gives CRL_EXPIRED verdicts, which say so themselves);
 *   - `snapshot()`: the list with levels, for the operator health view (GET /v1/operator/health `trust`).
 * A file that cannot be read or parsed is reported as a problem of the round (`problems`), not as an item.
 */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { Counter, Gauge } from 'prom-client'
import type { Config } from '../config.js'
import type { Logger } from '../logger.js'
import type { GatewayMetrics } from '../metrics.js'
import { parseCertificates, parseCrls, type CertSummary, type RevocationChecker } from '../signature/index.js'

export const TRUST_ITEM_KINDS = ['signing', 'chain', 'anchor', 'intermediate', 'tsa-anchor', 'tsa-intermediate', 'crl', 'crl-fetched'] as const
export type TrustItemKind = (typeof TRUST_ITEM_KINDS)[number]
export const EXPIRY_LEVELS = ['ok', 'days-30', 'days-7', 'days-1', 'expired'] as const
export type ExpiryLevel = (typeof EXPIRY_LEVELS)[number]

const DAY_MS = 86_400_000

export interface TrustItem {
  readonly kind: TrustItemKind
  /** The hosted agency, for `signing` and `chain`. */
  readonly agency?: string
  /** Certificate subject, or the CRL's issuer. */
  readonly subject: string
  readonly issuer?: string
  readonly serial?: string
  /** First 16 hex digits of the SHA-256 of the certificate or CRL DER. */
  readonly fingerprint: string
  /** File path or distribution point URL. */
  readonly source?: string
  /** notAfter of a certificate, nextUpdate of a CRL (ISO). */
  readonly expiresAt: string
  /** Readiness depends on it (see the file comment). */
  readonly needed?: boolean
}

export interface TrustItemView extends TrustItem {
  readonly daysLeft: number
  readonly level: ExpiryLevel
}

export interface TrustSnapshot {
  readonly checkedAt?: string
  readonly items: readonly TrustItemView[]
  /** Items at a level worse than ok. */
  readonly warnings: number
  /** Trust files that could not be read in the last round. */
  readonly problems: readonly string[]
}

export interface TrustReadiness {
  readonly ok: boolean
  readonly detail?: string
  readonly expired: readonly { kind: TrustItemKind; agency?: string; subject: string; fingerprint: string; expiresAt: string; needed?: boolean }[]
}

/** What the watch reads of a signer (src/signature's Signer fits). */
export interface WatchedSigner {
  readonly certificate?: CertSummary
  readonly chain?: readonly CertSummary[]
  /** With a rollover (nextSigning): every identity and its period; those whose period has not ended are watched. */
  readonly identities?: readonly { certificate: CertSummary; until?: string }[]
  readonly token?: { status(): { ok: boolean; detail?: string; since: string }; probe?(): Promise<void> | void }
}

export interface TrustWatchOptions {
  config: Pick<Config, 'trust'>
  signers: ReadonlyMap<string, WatchedSigner>
  /** The process's revocation checker of trust.revocation (its fetched CRLs), when configured. */
  revocation?: () => RevocationChecker | undefined
  clock?: () => Date
  logger?: Pick<Logger, 'warn'>
  /** Default 10 min. */
  intervalMs?: number
  /** Default 5 s; 0: tokens are not probed. */
  tokenProbeMs?: number
  /** Told when a probe finds a token usable again that was not (the re-signer signs what waited for it). */
  onTokenUp?: () => void
}

export interface TrustWatch {
  /** Lists everything again now (also done every intervalMs once started). */
  check(): void
  snapshot(): TrustSnapshot
  readiness(): TrustReadiness
  /** Registers the gauges on the gateway's registry. */
  register(metrics: Pick<GatewayMetrics, 'registry'>): void
  start(): void
  stop(): Promise<void>
}

/** The level of an item with `daysLeft` days left. */
export function expiryLevel(daysLeft: number): ExpiryLevel {
  if (daysLeft <= 0) return 'expired'
  if (daysLeft <= 1) return 'days-1'
  if (daysLeft <= 7) return 'days-7'
  if (daysLeft <= 30) return 'days-30'
  return 'ok'
}

const short = (hex: string): string => hex.slice(0, 16)
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')
const days = (expiresAt: string, nowMs: number): number => Math.floor(((Date.parse(expiresAt) - nowMs) / DAY_MS) * 100) / 100

export function createTrustWatch(o: TrustWatchOptions): TrustWatch {
  const clock = o.clock ?? (() => new Date())
  const intervalMs = o.intervalMs ?? 10 * 60_000
  const tokenProbeMs = o.tokenProbeMs ?? 5000
  let items: TrustItem[] = []
  let problems: string[] = []
  let checkedAt: Date | undefined
  /** fingerprint + kind + agency → the worst level already warned about. */
  const warned = new Map<string, ExpiryLevel>()
  let timer: NodeJS.Timeout | undefined
  let probeTimer: NodeJS.Timeout | undefined
  let probing: Promise<unknown> | undefined

  function certItems(kind: TrustItemKind, paths: readonly string[], found: string[]): TrustItem[] {
    return paths.flatMap((p) => {
      try {
        return parseCertificates(readFileSync(p), p).map((c) => ({
          kind,
          subject: c.summary.subject,
          issuer: c.summary.issuer,
          serial: c.summary.serial,
          fingerprint: short(c.sha256),
          source: p,
          expiresAt: c.summary.notAfter,
        }))
      } catch (e) {
        found.push(`${p}: ${(e as Error).message}`)
        return []
      }
    })
  }

  function check(): void {
    const t = o.config.trust
    const found: string[] = []
    const list: TrustItem[] = []
    const startMs = clock().getTime()
    for (const [agency, s] of o.signers) {
      const owns = s.identities ? s.identities.filter((i) => i.until === undefined || Date.parse(i.until) > startMs).map((i) => i.certificate) : [s.certificate]
      // a signer without a readable certificate (a stand-in of a test) has nothing to watch
      const readable = owns.filter((c): c is CertSummary => typeof c?.sha256 === 'string' && typeof c.notAfter === 'string')
      if (readable.length === 0) continue
      for (const own of readable) list.push({ kind: 'signing', agency, subject: own.subject, issuer: own.issuer, serial: own.serial, fingerprint: short(own.sha256), expiresAt: own.notAfter, needed: true })
      for (const c of s.chain ?? []) {
        if (typeof c?.sha256 !== 'string' || typeof c.notAfter !== 'string' || readable.some((own) => c.sha256 === own.sha256)) continue
        list.push({ kind: 'chain', agency, subject: c.subject, issuer: c.issuer, serial: c.serial, fingerprint: short(c.sha256), expiresAt: c.notAfter })
      }
    }
    const anchors = certItems('anchor', t.anchorsPaths, found)
    const intermediates = certItems('intermediate', t.intermediatesPaths, found)
    // the anchors our own chains end at: follow issuer names through the chains and intermediates
    const bySubject = new Map<string, TrustItem[]>()
    for (const c of [...list.filter((i) => i.kind === 'chain'), ...intermediates]) bySubject.set(c.subject, [...(bySubject.get(c.subject) ?? []), c])
    const neededRoots = new Set<string>()
    for (const own of list.filter((i) => i.kind === 'signing')) {
      let issuer = own.issuer
      for (let depth = 0; issuer !== undefined && depth < 10; depth++) {
        neededRoots.add(issuer)
        const up = bySubject.get(issuer)?.[0]
        if (!up || up.issuer === up.subject) break
        issuer = up.issuer
      }
    }
    const nowMs = clock().getTime()
    const allExpired = anchors.length > 0 && anchors.every((a) => days(a.expiresAt, nowMs) <= 0)
    for (const a of anchors) list.push(neededRoots.has(a.subject) || allExpired ? { ...a, needed: true } : a)
    list.push(...intermediates)
    if (t.tsa) {
      list.push(...certItems('tsa-anchor', t.tsa.anchorsPaths, found))
      list.push(...certItems('tsa-intermediate', [...t.tsa.intermediatesPaths, ...(t.tsa.certPath !== undefined ? [t.tsa.certPath] : [])], found))
    }
    for (const p of t.crlPaths) {
      try {
        for (const c of parseCrls(readFileSync(p))) {
          if (c.nextUpdateMs === undefined) continue
          list.push({ kind: 'crl', subject: c.issuer, fingerprint: short(sha256(c.der)), source: p, expiresAt: new Date(c.nextUpdateMs).toISOString() })
        }
      } catch (e) {
        found.push(`${p}: ${(e as Error).message}`)
      }
    }
    for (const f of o.revocation?.()?.crls?.() ?? []) {
      if (f.crl.nextUpdateMs === undefined) continue
      list.push({ kind: 'crl-fetched', subject: f.crl.issuer, fingerprint: short(sha256(f.crl.der)), source: f.url, expiresAt: new Date(f.crl.nextUpdateMs).toISOString() })
    }
    items = list
    problems = found
    checkedAt = clock()
    for (const i of view(nowMs)) {
      if (i.level === 'ok') continue
      const key = `${i.kind}\u0000${i.agency ?? ''}\u0000${i.fingerprint}`
      const before = warned.get(key)
      if (before !== undefined && EXPIRY_LEVELS.indexOf(before) >= EXPIRY_LEVELS.indexOf(i.level)) continue
      warned.set(key, i.level)
      const what = `${i.kind}${i.agency ? ` of ${i.agency}` : ''} ${i.subject} (${i.fingerprint}${i.source ? `, ${i.source}` : ''})`
      o.logger?.warn(
        { trust: { kind: i.kind, agency: i.agency, subject: i.subject, fingerprint: i.fingerprint, expiresAt: i.expiresAt, daysLeft: i.daysLeft, level: i.level } },
        i.level === 'expired'
          ? `${what} expired at ${i.expiresAt}: ${i.kind.startsWith('crl') ? 'publish or fetch a newer CRL' : 'renew it and replace the file'}`
          : `${what} expires at ${i.expiresAt}, in ${Math.max(0, Math.floor(i.daysLeft))} day(s): ${i.kind.startsWith('crl') ? 'check that the CA publishes a newer CRL' : 'renew it'}`,
      )
    }
  }

  function view(nowMs: number): TrustItemView[] {
    return items.map((i) => {
      const d = days(i.expiresAt, nowMs)
      return { ...i, daysLeft: d, level: expiryLevel(d) }
    })
  }

  async function probeTokens(): Promise<void> {
    let back = false
    for (const s of o.signers.values()) {
      const wasDown = s.token ? !s.token.status().ok : false
      try {
        await s.token?.probe?.()
      } catch {
        // the token's status says why
      }
      if (wasDown && s.token?.status().ok) back = true
    }
    // packages that waited for a signature can be signed now (src/pipeline/resigner.ts)
    if (back) o.onTokenUp?.()
  }

  return {
    check,
    snapshot() {
      const v = view(clock().getTime())
      return { ...(checkedAt ? { checkedAt: checkedAt.toISOString() } : {}), items: v, warnings: v.filter((i) => i.level !== 'ok').length, problems: [...problems] }
    },
    readiness() {
      const v = view(clock().getTime()).filter((i) => i.level === 'expired')
      const blocking = v.filter((i) => i.needed)
      const expired = v.map((i) => ({ kind: i.kind, ...(i.agency ? { agency: i.agency } : {}), subject: i.subject, fingerprint: i.fingerprint, expiresAt: i.expiresAt, ...(i.needed ? { needed: true } : {}) }))
      if (blocking.length === 0) return { ok: true, expired }
      const detail = blocking.map((i) => `${i.kind === 'signing' ? `signing certificate of ${i.agency}` : `trust anchor ${i.subject}`} expired at ${i.expiresAt}`).join('; ')
      return { ok: false, detail, expired }
    },
    register(metrics) {
      const registers = [metrics.registry]
      new Gauge({
        name: 'lienthong_trust_expiry_days',
        help: 'Days until each own signing certificate and its chain, trust anchor, intermediate and TSA certificate expires, and until each CRL (file or fetched) passes its nextUpdate (negative: passed)',
        labelNames: ['kind', 'agency', 'subject', 'fingerprint'],
        registers,
        collect() {
          this.reset()
          for (const i of view(clock().getTime())) this.set({ kind: i.kind, agency: i.agency ?? '', subject: i.subject, fingerprint: i.fingerprint }, i.daysLeft)
        },
      })
      const revocation = o.revocation
      if (revocation) {
        for (const [name, help, pick] of [
          ['lienthong_revocation_cache_hits_total', 'Revocation checks answered from the cache of the process (OCSP answers, fetched CRLs) since start, by source', (c: { hits: number }) => c.hits],
          ['lienthong_revocation_cache_misses_total', 'Revocation checks that waited for the network (not in the cache, or due again) since start, by source', (c: { misses: number }) => c.misses],
        ] as const) {
          new Counter({
            name,
            help,
            labelNames: ['source'],
            registers,
            collect() {
              const st = revocation()?.stats()
              this.reset()
              this.inc({ source: 'ocsp' }, st ? pick(st.ocsp) : 0)
              this.inc({ source: 'crl' }, st ? pick(st.crl) : 0)
            },
          })
        }
      }
      const tokens = [...o.signers].filter(([, s]) => s.token)
      if (tokens.length === 0) return
      new Gauge({
        name: 'lienthong_signing_token_up',
        help: 'The PKCS#11 token holding the signing key of each hosted agency is usable (1) or not (0); while it is not, sending waits for it',
        labelNames: ['agency'],
        registers,
        collect() {
          for (const [agency, s] of tokens) this.set({ agency }, s.token!.status().ok ? 1 : 0)
        },
      })
    },
    start() {
      if (timer) return
      const round = () => {
        try {
          check()
        } catch (e) {
          problems = [`the check failed: ${(e as Error).message}`]
        }
      }
      round()
      timer = setInterval(round, intervalMs)
      timer.unref()
      if (tokenProbeMs > 0 && [...o.signers.values()].some((s) => s.token?.probe)) {
        probeTimer = setInterval(() => {
          probing ??= probeTokens().finally(() => (probing = undefined))
        }, tokenProbeMs)
        probeTimer.unref()
      }
    },
    async stop() {
      clearInterval(timer)
      clearInterval(probeTimer)
      timer = probeTimer = undefined
      await probing
    },
  }
}
