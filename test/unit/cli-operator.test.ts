// `lienthong operator add|list|hash`, run as a user runs it (a child process, the password on stdin): the account
// lands in the config file as a scrypt hash, the gateway loads the file, and the person can log in with it.
import { execFile } from 'node:child_process'
import { readFileSync, statSync, writeFileSync, chmodSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { loadConfig } from '../../src/config.js'
import { verifyPassword } from '../../src/passwords.js'
import { rawTestConfig, ROOT } from '../helper.js'

function lienthong(args: string[], input: string): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli.ts'), ...args], { cwd: ROOT }, (err, out, errOut) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out, err: errOut }),
    )
    child.stdin!.end(input)
  })
}

t.test('operator add writes a personal account with a hashed password; the config still loads with it', async (t) => {
  const dir = t.testdir({})
  const file = path.join(dir, 'config.json')
  const raw = rawTestConfig(dir)
  writeFileSync(file, JSON.stringify(raw, null, 2))
  chmodSync(file, 0o640)

  const add = await lienthong(['operator', 'add', '--config', file, '--id', 'lan', '--name', 'Nguyễn Thị Lan', '--role', 'viewer', '--password-stdin'], 'mật khẩu của Lan 2026\n')
  t.equal(add.code, 0, add.err)
  t.match(add.out, /operator lan added \(role viewer\)/)
  const doc = JSON.parse(readFileSync(file, 'utf8'))
  const lan = doc.operators.find((o: any) => o.id === 'lan')
  t.match(lan, { id: 'lan', name: 'Nguyễn Thị Lan', role: 'viewer', passwordHash: /^scrypt\$ln=15,r=8,p=1\$/ })
  t.notOk(readFileSync(file, 'utf8').includes('mật khẩu của Lan'), 'the password itself is not in the file')
  t.equal(await verifyPassword('mật khẩu của Lan 2026', lan.passwordHash), true)
  t.same(doc.agencies, raw.agencies, 'the rest of the file is kept')
  t.equal(statSync(file).mode & 0o777, 0o640, 'the file keeps its permissions')
  const config = loadConfig({ file, env: {} })
  t.match(config.operators.find((o) => o.id === 'lan'), { role: 'viewer', name: 'Nguyễn Thị Lan' })

  // the same id again: refused unless --force, which replaces it
  const again = await lienthong(['operator', 'add', '--config', file, '--id', 'lan', '--password-stdin'], 'another password 2026\n')
  t.equal(again.code, 2)
  t.match(again.err, /already exists .* --force/)
  const forced = await lienthong(['operator', 'add', '--config', file, '--id', 'lan', '--role', 'operator', '--password-stdin', '--force'], 'another password 2026\n')
  t.equal(forced.code, 0, forced.err)
  const after = JSON.parse(readFileSync(file, 'utf8')).operators.filter((o: any) => o.id === 'lan')
  t.equal(after.length, 1)
  t.equal(after[0].role, 'operator')
  t.equal(await verifyPassword('another password 2026', after[0].passwordHash), true)

  const list = await lienthong(['operator', 'list', '--config', file], '')
  t.equal(list.code, 0)
  t.match(list.out, /^ops\toperator\tkey\t$/m)
  t.match(list.out, /^lan\toperator\tpassword\t$/m)
})

t.test('operator add refuses what would not work: short password, bad id or role, a DMS client id, no file', async (t) => {
  const dir = t.testdir({})
  const file = path.join(dir, 'config.json')
  writeFileSync(file, JSON.stringify(rawTestConfig(dir), null, 2))
  const before = readFileSync(file, 'utf8')
  for (const [args, input, why] of [
    [['--id', 'lan'], 'short\n', /at least 12 characters/],
    [['--id', 'bad id!'], 'long enough password\n', /--id must be/],
    [['--id', 'lan', '--role', 'root'], 'long enough password\n', /--role must be one of viewer, operator, admin/],
    [['--id', 'dms-vpcp'], 'long enough password\n', /id of a DMS client/],
    [['--id', 'lan'], '', /no password given/],
  ] as const) {
    const r = await lienthong(['operator', 'add', '--config', file, ...args, '--password-stdin'], input)
    t.equal(r.code, 2, `${args.join(' ')}: usage error`)
    t.match(r.err, why)
  }
  t.equal(readFileSync(file, 'utf8'), before, 'the file is untouched')
  const missing = await lienthong(['operator', 'add', '--config', path.join(dir, 'nope.json'), '--id', 'lan', '--password-stdin'], 'long enough password\n')
  t.equal(missing.code, 1)
  t.match(missing.err, /cannot read .*ENOENT/)
  const hash = await lienthong(['operator', 'hash', '--password-stdin'], 'long enough password\n')
  t.equal(hash.code, 0)
  t.equal(await verifyPassword('long enough password', hash.out.trim()), true, 'hash prints the stored form')
})
