// Regenerates the error table in README.md from src/errors.ts (between the errors-table markers).
import { readFileSync, writeFileSync } from 'node:fs'
import { errorsTable } from '../src/errors-table.js'

const path = new URL('../README.md', import.meta.url)
const readme = readFileSync(path, 'utf8')
const start = '<!-- errors-table:start -->'
const end = '<!-- errors-table:end -->'
const a = readme.indexOf(start)
const b = readme.indexOf(end)
if (a < 0 || b < a) {
  console.error('README.md has no errors-table markers')
  process.exit(1)
}
writeFileSync(path, readme.slice(0, a + start.length) + '\n' + errorsTable() + '\n' + readme.slice(b))
console.log('README.md error table updated')
