/**
 * `lienthong sign FILE --key KEY --cert CERT [--chain PEM] -o OUT.p7s [--pem]`
 * `lienthong sign FILE --p12 FILE --password PW -o OUT.p7s [--pem]`
 * Writes a detached CMS signature over the exact bytes of FILE (DER, or PEM with --pem). Exit 0 on success,
 * 1 when the key or certificate cannot be used, 2 on usage errors. `--password` also opens an encrypted PKCS#8 key;
 * `--password-env VAR` reads it from an environment variable instead of the command line.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { isGatewayError } from '../errors.js'
import { loadSigner, type SignerSource } from '../signature/index.js'

const USAGE = [
  'usage: lienthong sign FILE --key KEY.pem --cert CERT.pem [--chain CHAIN.pem] -o OUT.p7s [--pem]',
  '       lienthong sign FILE --p12 BUNDLE.p12 (--password PW | --password-env VAR) -o OUT.p7s [--pem]',
].join('\n')

function usage(msg?: string): number {
  if (msg) console.error(`lienthong sign: ${msg}`)
  console.error(USAGE)
  return 2
}

export function toPem(der: Uint8Array, label: string): string {
  const b64 = Buffer.from(der).toString('base64').replace(/.{1,64}/g, '$&\n')
  return `-----BEGIN ${label}-----\n${b64}-----END ${label}-----\n`
}

export async function run(argv: string[]): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        key: { type: 'string' },
        cert: { type: 'string' },
        chain: { type: 'string', multiple: true },
        p12: { type: 'string' },
        password: { type: 'string' },
        'password-env': { type: 'string' },
        out: { type: 'string', short: 'o' },
        pem: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    })
  } catch (e) {
    return usage((e as Error).message)
  }
  const { values: o, positionals } = parsed
  if (o.help) {
    console.log(USAGE)
    return 0
  }
  if (positionals.length !== 1) return usage('give exactly one FILE to sign')
  if (!o.out) return usage('-o OUT.p7s is required')
  if (!o.p12 && !(o.key && o.cert)) return usage('give --key and --cert, or --p12')
  if (o.p12 && (o.key || o.cert)) return usage('--p12 excludes --key/--cert')
  let password = o.password
  if (o['password-env'] !== undefined) {
    password = process.env[o['password-env']]
    if (password === undefined) return usage(`environment variable ${o['password-env']} is not set`)
  }

  const read = async (path: string): Promise<Buffer | undefined> => {
    try {
      return await readFile(path)
    } catch (e) {
      console.error(`lienthong sign: cannot read ${path}: ${(e as Error).message}`)
      return undefined
    }
  }
  const content = await read(positionals[0]!)
  if (!content) return 2
  const src: SignerSource = {}
  if (o.p12) {
    const p12 = await read(o.p12)
    if (!p12) return 2
    src.p12 = p12
  } else {
    const key = await read(o.key!)
    const cert = await read(o.cert!)
    if (!key || !cert) return 2
    src.keyPem = key.toString('utf8')
    src.certPem = cert.toString('utf8')
  }
  if (o.chain?.length) {
    const parts: string[] = []
    for (const p of o.chain) {
      const b = await read(p)
      if (!b) return 2
      parts.push(b.toString('utf8'))
    }
    src.chainPem = parts.join('\n')
  }
  if (password !== undefined) src.password = password

  try {
    const signer = await loadSigner(src)
    const sig = await signer.sign(content)
    await writeFile(o.out, o.pem ? toPem(sig, 'CMS') : sig)
    console.log(`signed ${positionals[0]} (${content.length} bytes) as ${signer.certificate.subject} -> ${o.out} (${sig.length} bytes DER${o.pem ? ', written as PEM' : ''})`)
    return 0
  } catch (e) {
    if (isGatewayError(e)) {
      console.error(`${e.code}: ${e.message}`)
      return 1
    }
    console.error(`lienthong sign: ${(e as Error).message}`)
    return 1
  }
}
