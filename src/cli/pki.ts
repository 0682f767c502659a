// `lienthong pki init DIR [--force] [--now ISO-DATE] [--key-bits N]`: write a fresh sample PKI like certs-sample/.
import { readdir } from 'node:fs/promises'
import { resolve } from 'node:path'
import { generateSamplePki, SAMPLE_PKI_WARNING } from '../signature/pki-sample.js'

const USAGE = `usage: lienthong pki init DIR [--force] [--now ISO-DATE] [--key-bits N]

Writes a fresh development PKI into DIR (root CA, intermediate signing CA, agency keys, certificates and
PKCS#12 bundles, CRLs, the special test certificates and manifest.json), laid out like certs-sample/.
DIR must be empty or missing unless --force is given (then files with the same names are overwritten).
  --now ISO-DATE   reference time for the validity periods (default: now)
  --key-bits N     RSA key size of the CAs and RSA-2048 agencies (default 2048)`

async function isNonEmptyDir(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length > 0
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return false
    throw e
  }
}

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv
  if (sub === '-h' || sub === '--help') {
    console.log(USAGE)
    return 0
  }
  if (sub !== 'init') {
    console.error(USAGE)
    return 2
  }
  let dir: string | undefined
  let force = false
  let now: Date | undefined
  let keyBits: number | undefined
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!
    if (a === '--force' || a === '-f') force = true
    else if (a === '--now' || a === '--key-bits') {
      const v = rest[++i]
      if (v === undefined) {
        console.error(`lienthong pki: ${a} needs a value\n\n${USAGE}`)
        return 2
      }
      if (a === '--now') {
        now = new Date(v)
        if (Number.isNaN(now.getTime())) {
          console.error(`lienthong pki: --now ${v} is not a date`)
          return 2
        }
      } else {
        keyBits = Number(v)
        if (!Number.isInteger(keyBits) || keyBits < 1024) {
          console.error(`lienthong pki: --key-bits ${v} must be an integer >= 1024`)
          return 2
        }
      }
    } else if (a === '-h' || a === '--help') {
      console.log(USAGE)
      return 0
    } else if (a.startsWith('-') || dir !== undefined) {
      console.error(`lienthong pki: unexpected argument ${a}\n\n${USAGE}`)
      return 2
    } else dir = a
  }
  if (dir === undefined) {
    console.error(USAGE)
    return 2
  }
  const abs = resolve(dir)
  if (!force && (await isNonEmptyDir(abs))) {
    console.error(`lienthong pki: ${abs} is not empty; choose an empty directory or pass --force to overwrite`)
    return 1
  }
  const m = await generateSamplePki(abs, { ...(now ? { now } : {}), ...(keyBits ? { keyBits } : {}) })
  const lines = [
    `Sample PKI written to ${abs}`,
    `WARNING: ${SAMPLE_PKI_WARNING}`,
    '',
    `  trust anchors      ${m.trustAnchors}  (${m.rootCa.subject})`,
    `  root CA            ${m.rootCa.cert}, key ${m.rootCa.key}, CRL ${m.crls.root.pem}`,
    `  intermediate CA    ${m.intermediateCa.cert}, key ${m.intermediateCa.key}, CRL ${m.crls.intermediate.pem}`,
    `  all CRLs           ${m.crls.all}`,
    `  untrusted root CA  ${m.untrustedRootCa.cert}`,
    `  PKCS#12 password   ${m.p12Password}`,
    '',
    '  agencies:',
    ...m.agencies.map((a) => `    ${a.organId.padEnd(14)} ${a.slug.padEnd(11)} ${a.keyType.padEnd(9)} ${a.files.cert.replace(/cert\.pem$/, '')}{key.pem,cert.pem,chain.pem,bundle.p12}  ${a.name}`),
    '',
    '  test certificates:',
    ...m.testCases.map((c) => `    ${c.case.padEnd(21)} expect ${c.expect.padEnd(18)} ${c.files.cert.replace(/cert\.pem$/, '')}`),
    '',
    '  manifest.json describes every file.',
  ]
  console.log(lines.join('\n'))
  return 0
}
