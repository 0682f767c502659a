/**
 * `lienthong serve` that cannot start exits non-zero within seconds, saying what to change: here its HTTP port is
 * held by another listener, after the store, the broker connection and the relay were already up; all of them
 * are stopped, so the process ends by itself (not by the forced exit that follows a failed start after 3 s).
 * Runs dist/cli.js (`npm run build` first).
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { existsSync, writeFileSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import path from 'node:path'
import { deleteAmqpNames, rawTestConfig, ROOT } from '../../helper.js'
import { loadConfig } from '../../../src/config.js'

const CLI = path.join(ROOT, 'dist', 'cli.js')

t.test('serve with its HTTP port taken: exit code 1 within seconds, the hint names LIENTHONG_HTTP_PORT / http.port', { timeout: 90_000, skip: !existsSync(CLI) && 'dist/cli.js missing: run npm run build' }, async (t) => {
  const holder = createServer()
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => holder.close(() => resolve())))
  const port = (holder.address() as AddressInfo).port

  const dir = t.testdir({})
  // a lean start on a busy machine: no signing workers, no OpenAPI UI (the store, the broker connection, the relay
  // and the receiver still start before the port is tried)
  const raw = rawTestConfig(dir, { http: { port, docs: false } })
  raw.pipeline = { workers: 0 }
  const file = path.join(dir, 'config.json')
  writeFileSync(file, JSON.stringify(raw))
  t.teardown(() => deleteAmqpNames(loadConfig({ object: raw, file, env: {} })))

  // the start itself (module loading, keys, store, broker) takes a few seconds, and far more on an overloaded
  // 2-core machine: the exit must follow the error within 5 s (a hang never ends); 60 s from the spawn is the guard
  const started = Date.now()
  const child = spawn(process.execPath, [CLI, 'serve', '--config', file], { cwd: dir, env: { ...process.env, LIENTHONG_CONFIG: '' }, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let reportedAt = 0
  const collect = (b: Buffer) => {
    out += b.toString()
    if (!reportedAt && /GW_ERR_/.test(out)) reportedAt = Date.now()
  }
  child.stdout.on('data', collect)
  child.stderr.on('data', collect)
  const code = await new Promise<number | null | 'timeout'>((resolve) => {
    const timer = setTimeout(() => resolve('timeout'), 60_000)
    child.on('exit', (c) => {
      clearTimeout(timer)
      resolve(c)
    })
  })
  const exitedAt = Date.now()
  if (code === 'timeout') child.kill('SIGKILL')
  t.not(code, 'timeout', `exited (output: ${out})`)
  t.not(code, 0, 'a failed start is a non-zero exit')
  t.ok(reportedAt > 0 && exitedAt - reportedAt < 5000, `exit ${exitedAt - reportedAt} ms after the error, ${exitedAt - started} ms after the spawn`)
  t.match(out, /LIENTHONG_HTTP_PORT/, 'names the environment variable')
  t.match(out, /http\.port/, 'names the config setting')
  t.match(out, new RegExp(`${port}.*in use|in use.*${port}`), 'says the port is in use')
  t.notMatch(out, /still running/, 'the process ended by itself: nothing was left running (no forced exit)')
})
