/**
 * `lienthong parse FILE`: print the parsed edXML package as JSON (exit 0), or `CODE: message` on stderr (exit 1).
 * Identifiers stay the strings they are in the package; attachments are listed with their declared and real content
 * types and sizes, never their payload.
 */
import { readFile } from 'node:fs/promises'
import { parseEnvelope } from '../envelope/index.js'
import { isGatewayError } from '../errors.js'

const USAGE = 'usage: lienthong parse FILE [--max-bytes N] [--refuse-junk]'

export async function run(argv: string[]): Promise<number> {
  const files: string[] = []
  let maxBytes: number | undefined
  let refuseJunk = false
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    if (a === '--max-bytes') maxBytes = Number(argv[++i])
    else if (a === '--refuse-junk') refuseJunk = true
    else if (a === '-h' || a === '--help') {
      console.log(USAGE)
      return 0
    } else files.push(a)
  }
  if (files.length !== 1 || (maxBytes !== undefined && !(maxBytes > 0))) {
    console.error(USAGE)
    return 2
  }
  let bytes: Uint8Array
  try {
    bytes = await readFile(files[0]!)
  } catch (e) {
    console.error(`cannot read ${files[0]}: ${(e as Error).message}`)
    return 2
  }
  try {
    const env = parseEnvelope(bytes, { ...(maxBytes ? { maxBytes } : {}), ...(refuseJunk ? { junkPrefix: 'refuse' as const } : {}) })
    const out: Record<string, unknown> = env.toJSON()
    if (env.kind === 'edoc') {
      const reports = env.describeAttachments()
      out['attachments'] = reports
      out['warnings'] = [...env.warnings, ...reports.flatMap((r) => r.warnings)]
    }
    process.stdout.write(JSON.stringify(out, null, 2) + '\n')
    return 0
  } catch (e) {
    if (isGatewayError(e)) {
      console.error(`${e.code}: ${e.message}`)
      return 1
    }
    throw e
  }
}
