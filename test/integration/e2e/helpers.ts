/**
 * Two gateways on one broker: A hosts VPCP (G22) and UBND TP.HCM (H29), B hosts UBND TP Hà Nội (H26) and Sở Nội vụ
 * Hà Nội (000.00.12.H26); separate SQLite files, the same random exchange names, real processes' code path
 * (startGateway: store, relay, receiver, API without a listener).
 */
import { createHash } from 'node:crypto'
import path from 'node:path'
import { loadConfig, type Config } from '../../../src/config.js'
import { startGateway, type RunningGateway } from '../../../src/server.js'
import { amqpNames, CERTS, deleteAmqpNames, ownDir, rawTestConfig, silentLogger } from '../../helper.js'

interface Tap {
  testdir(fixture?: any): string
  teardown(fn: () => unknown): void
}

export const G22 = '000.00.00.G22'
export const H29 = '000.00.00.H29'
export const H26 = '000.00.00.H26'
export const SNV = '000.00.12.H26'
export const E2E_KEYS = { g22: 'e2e-key-vpcp', h29: 'e2e-key-ubnd-hcm', h26: 'e2e-key-ubnd-hanoi', snv: 'e2e-key-snv-hanoi' } as const
export const bearer = (key: string) => ({ authorization: `Bearer ${key}` })
const sha = (s: string) => createHash('sha256').update(s).digest('hex')

const agency = (organId: string, slug: string, name: string, key: string) => ({
  organId,
  name,
  organizationInCharge: name,
  signing: {
    keyPath: path.join(CERTS, 'agencies', slug, 'key.pem'),
    certPath: path.join(CERTS, 'agencies', slug, 'cert.pem'),
    chainPath: path.join(CERTS, 'agencies', slug, 'chain.pem'),
  },
  clients: [{ id: `dms-${slug}`, keySha256: sha(key) }],
})

export type Gateway = RunningGateway & { config: Config }

/** `configure` may change either gateway's raw configuration (e.g. B's trust files) before it starts. */
export async function startTwoGateways(t: Tap, opts: { configure?: (label: 'a' | 'b', raw: Record<string, any>, dir: string) => void } = {}): Promise<{ a: Gateway; b: Gateway }> {
  const names = amqpNames()
  const make = async (label: 'a' | 'b', agencies: ReturnType<typeof agency>[]): Promise<Gateway> => {
    const dir = ownDir(t)
    const raw = rawTestConfig(dir, { amqp: { ...names, prefetch: 32 }, relay: { pollIntervalMs: 100, retryDelayMs: 200 } })
    raw.agencies = agencies
    opts.configure?.(label, raw, dir)
    raw.operators = [{ id: `ops-${label}`, keySha256: sha(`ops-${label}`) }]
    const config = loadConfig({ object: raw, file: path.join(dir, 'config.json'), env: {} })
    const gw = await startGateway(config, { logger: silentLogger(), listen: false })
    await gw.connection.whenConnected({ timeoutMs: 10_000 })
    await gw.publisher.whenReady({ timeoutMs: 10_000 })
    await gw.receiver?.whenConsuming({ timeoutMs: 10_000 })
    return Object.assign(gw, { config })
  }
  const a = await make('a', [agency(G22, 'vpcp', 'Văn phòng Chính phủ', E2E_KEYS.g22), agency(H29, 'ubnd-hcm', 'Ủy ban nhân dân Thành phố Hồ Chí Minh', E2E_KEYS.h29)])
  // A is closed even when B fails to start (a configuration error would otherwise leave the test process running)
  const started: { b?: Gateway } = {}
  t.teardown(async () => {
    await a.close()
    await started.b?.close()
    await deleteAmqpNames(a.config)
    if (started.b) await deleteAmqpNames(started.b.config)
  })
  const b = (started.b = await make('b', [agency(H26, 'ubnd-hanoi', 'Ủy ban nhân dân Thành phố Hà Nội', E2E_KEYS.h26), agency(SNV, 'snv-hanoi', 'Sở Nội vụ Thành phố Hà Nội', E2E_KEYS.snv)]))
  return { a, b }
}

export async function waitFor<T>(fn: () => Promise<T | undefined | false>, timeoutMs = 5000, stepMs = 25): Promise<T | undefined> {
  const end = Date.now() + timeoutMs
  for (;;) {
    const v = await fn()
    if (v) return v
    if (Date.now() > end) return undefined
    await new Promise((r) => setTimeout(r, stepMs))
  }
}
