import { ERRORS, type ErrorCode } from './errors.js'

const cell = (s: string) => s.replace(/\|/g, '\\|')

/** The README's error table, generated from the catalogue. */
export function errorsTable(): string {
  const rows = (Object.keys(ERRORS) as ErrorCode[]).map((code) => {
    const d = ERRORS[code]
    return `| \`${code}\` | ${d.httpStatus} | ${cell(d.message)} | ${cell(d.solve)} |`
  })
  return ['| code | HTTP | meaning | how to solve |', '|---|---|---|---|', ...rows].join('\n')
}
