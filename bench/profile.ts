/**
 * Summary of V8 CPU profiles (`node --cpu-prof`): where a process's time went, by self time.
 *
 *   npx tsx bench/profile.ts FILE.cpuprofile... [--top 30] [--json]
 *
 * For each file (one per thread: the main thread and each worker write their own), and for all files together:
 * the sampled time, the share that was idle, then the top functions by self time (name, file:line) and the same
 * time grouped by module (a package of node_modules, a file of src/, a node: built-in, or a V8 pseudo-frame such as
 * (garbage collector)). Native work done inside a call (RSA in node:crypto, SQLite in better-sqlite3, fsync) is
 * counted as self time of the JavaScript function that made the call.
 * `--from US --to US` keeps only the samples taken in that window (CLOCK_MONOTONIC microseconds, the clock of
 * `process.hrtime.bigint() / 1000n` in any process of the machine), e.g. the measured part of a benchmark run
 * without the start-up (module loading, schema compilation).
 * The profiler samples wall-clock ticks: on a loaded machine a thread descheduled in the middle of a function is
 * counted in that function, so read the shares rather than the milliseconds.
 */
import { readFileSync } from 'node:fs'
import path from 'node:path'

interface CallFrame {
  functionName: string
  url: string
  lineNumber: number
}
interface ProfileNode {
  id: number
  callFrame: CallFrame
}
interface CpuProfile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
  startTime: number
  endTime: number
}

export interface ProfileSummary {
  file: string
  sampledMs: number
  idleMs: number
  busyMs: number
  functions: { name: string; where: string; module: string; selfMs: number; share: number }[]
  modules: { module: string; selfMs: number; share: number }[]
}

const PSEUDO = new Set(['(idle)', '(program)', '(garbage collector)', '(root)'])

/** The module a frame belongs to: node_modules/<package>, src/<folder>/<file>, node:<built-in>, or the pseudo-frame. */
function moduleOf(f: CallFrame): string {
  if (!f.url) return PSEUDO.has(f.functionName) ? f.functionName : '(native)'
  const u = f.url.replace(/^file:\/\//, '')
  const nm = u.lastIndexOf('/node_modules/')
  if (nm >= 0) {
    const rest = u.slice(nm + '/node_modules/'.length).split('/')
    return 'node_modules/' + (rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0])
  }
  if (u.startsWith('node:')) return u
  const m = /\/(src|dist|bench|test)\/(.*)$/.exec(u)
  if (m) return `${m[1]}/${m[2]}`
  return path.basename(u)
}

function where(f: CallFrame): string {
  if (!f.url) return ''
  const u = f.url.replace(/^file:\/\//, '')
  const m = /\/((?:src|dist|bench|test)\/.*|node_modules\/.*)$/.exec(u)
  return `${m ? m[1] : u}:${f.lineNumber + 1}`
}

export function summarise(files: string[], top = 30, window?: { fromUs: number; toUs: number }): ProfileSummary[] {
  const out: ProfileSummary[] = []
  const all = new Map<string, { name: string; where: string; module: string; selfMs: number }>()
  let allSampled = 0
  let allIdle = 0
  for (const file of files) {
    const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
    const byId = new Map(p.nodes.map((n) => [n.id, n]))
    const self = new Map<number, number>()
    const avg = p.samples.length ? (p.endTime - p.startTime) / p.samples.length : 0
    let t = p.startTime
    for (let i = 0; i < p.samples.length; i++) {
      t += p.timeDeltas[i] ?? 0
      if (window && (t < window.fromUs || t > window.toUs)) continue
      const dt = p.timeDeltas[i + 1] ?? avg
      self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + dt)
    }
    const fns = new Map<string, { name: string; where: string; module: string; selfMs: number }>()
    let sampled = 0
    let idle = 0
    for (const [id, us] of self) {
      const f = byId.get(id)!.callFrame
      const ms = us / 1000
      sampled += ms
      if (f.functionName === '(idle)') {
        idle += ms
        continue
      }
      const name = f.functionName || '(anonymous)'
      const w = where(f)
      const key = `${name} ${w}`
      for (const m of [fns, all]) {
        const e = m.get(key) ?? { name, where: w, module: moduleOf(f), selfMs: 0 }
        e.selfMs += ms
        m.set(key, e)
      }
    }
    allSampled += sampled
    allIdle += idle
    out.push(shape(path.basename(file), sampled, idle, fns, top))
  }
  if (files.length > 1) out.push(shape('all threads', allSampled, allIdle, all, top))
  return out
}

function shape(file: string, sampled: number, idle: number, fns: Map<string, { name: string; where: string; module: string; selfMs: number }>, top: number): ProfileSummary {
  const busy = sampled - idle
  const share = (ms: number) => (busy > 0 ? Math.round((ms / busy) * 1000) / 10 : 0)
  const r = (x: number) => Math.round(x)
  const functions = [...fns.values()].sort((a, b) => b.selfMs - a.selfMs).slice(0, top).map((f) => ({ ...f, selfMs: r(f.selfMs), share: share(f.selfMs) }))
  const mods = new Map<string, number>()
  for (const f of fns.values()) mods.set(f.module, (mods.get(f.module) ?? 0) + f.selfMs)
  const modules = [...mods.entries()].sort((a, b) => b[1] - a[1]).slice(0, top).map(([module, ms]) => ({ module, selfMs: r(ms), share: share(ms) }))
  return { file, sampledMs: r(sampled), idleMs: r(idle), busyMs: r(busy), functions, modules }
}

export function printSummary(s: ProfileSummary, log: (line: string) => void = console.log): void {
  log(`== ${s.file}: ${s.sampledMs} ms sampled, ${s.idleMs} ms idle, ${s.busyMs} ms busy (shares below are of busy time)`)
  log('  top functions by self time:')
  for (const f of s.functions) log(`    ${String(f.selfMs).padStart(7)} ms ${String(f.share).padStart(5)}%  ${f.name}  ${f.where}`)
  log('  by module:')
  for (const m of s.modules) log(`    ${String(m.selfMs).padStart(7)} ms ${String(m.share).padStart(5)}%  ${m.module}`)
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('bench/profile.ts')) {
  const argv = process.argv.slice(2)
  const json = argv.includes('--json')
  const valued = new Map<string, string>()
  const files: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    if (a === '--top' || a === '--from' || a === '--to') valued.set(a, argv[++i] ?? '')
    else if (a !== '--json') files.push(a)
  }
  const top = Number(valued.get('--top') ?? 30)
  if (!files.length) {
    console.error('usage: tsx bench/profile.ts FILE.cpuprofile... [--top N] [--from US --to US] [--json]')
    process.exit(2)
  }
  const from = valued.get('--from')
  const to = valued.get('--to')
  const s = summarise(files, top, from || to ? { fromUs: Number(from ?? 0), toUs: Number(to ?? Infinity) } : undefined)
  if (json) console.log(JSON.stringify(s))
  else for (const x of s) printSummary(x)
}
