/**
 * `npm start` is `npm run build && node dist/cli.js serve`, and the build is `tsc -b` (incremental, with its
 * .tsbuildinfo): a start when no source changed compiles nothing. Checked by running the same build twice into a
 * folder of its own (never the repository's dist/, which other tests run): the second run says every project is up
 * to date and writes no file.
 */
import { spawnSync } from 'node:child_process'
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { ROOT } from '../../helper.js'

const TSC = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc')

const files = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)) : [path.join(dir, e.name)]))

t.test('npm start builds incrementally: nothing is recompiled when no source changed', { timeout: 600_000 }, async (t) => {
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'))
  t.equal(pkg.scripts.start, 'npm run build && node dist/cli.js serve', 'npm start runs the build first')
  t.equal(pkg.scripts.build, 'tsc -b tsconfig.build.json', 'the build is tsc in build mode (up-to-date check)')
  const build = JSON.parse(readFileSync(path.join(ROOT, 'tsconfig.build.json'), 'utf8'))
  t.ok(build.compilerOptions.tsBuildInfoFile, 'with a build info file kept beside the output')

  const dir = t.testdir({})
  const config = path.join(dir, 'tsconfig.json')
  writeFileSync(
    config,
    JSON.stringify({
      extends: path.join(ROOT, 'tsconfig.build.json'),
      compilerOptions: { rootDir: path.join(ROOT, 'src'), outDir: path.join(dir, 'dist'), tsBuildInfoFile: path.join(dir, 'dist', '.tsbuildinfo') },
      include: [path.join(ROOT, 'src')],
    }),
  )
  const run = () => {
    const started = Date.now()
    const r = spawnSync(process.execPath, [TSC, '-b', config, '--verbose'], { encoding: 'utf8', cwd: ROOT })
    return { ...r, ms: Date.now() - started }
  }
  const first = run()
  t.equal(first.status, 0, `first build (${first.ms} ms): ${first.stdout.slice(-500)}`)
  const out = files(path.join(dir, 'dist'))
  t.ok(out.some((f) => f.endsWith(path.join('dist', 'cli.js'))), 'dist/cli.js built')
  const before = new Map(out.map((f) => [f, statSync(f).mtimeMs]))

  const second = run()
  t.equal(second.status, 0)
  t.match(second.stdout, /is up to date/, 'the second build finds everything up to date')
  t.notMatch(second.stdout, /Building project/, 'and builds nothing')
  const changed = files(path.join(dir, 'dist')).filter((f) => statSync(f).mtimeMs !== before.get(f))
  t.same(changed, [], 'no output file was written again')
  t.comment(`first build ${first.ms} ms, second ${second.ms} ms`)
})
