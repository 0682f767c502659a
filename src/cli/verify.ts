/**
 * `lienthong verify FILE --signature SIG.p7s --trust ROOTS.pem [--crl CRL.pem]... [--chain PEM]... [--organ-id ID]
 *  [--no-sender-check] [--stale-crl unknown|fail] [--tsa-trust TSA-ROOTS.pem]... [--json]`
 * With --tsa-trust, a signature timestamp token (CAdES-T) from a TSA chaining to those roots is the validation time.
 * Sender binding: when FILE is an edXML package, the signer certificate's OrganId must equal the package's
 * From/OrganId (as the gateway requires); `--organ-id` names the expected sender explicitly instead, and
 * `--no-sender-check` turns the binding off.
 * Prints the verdict: a short human summary, or JSON (the whole Verdict: ok, code, message, signer, chain,
 * signingTime, revocation, and `etsi`: the EN 319 102-1 indication) with --json; the summary has the
 * indication on its second line. Exit 0 only when the signature is valid, 1 when it is not, 2 on usage errors
 * (missing options, unreadable files, trust/CRL files that hold nothing usable). Signature files may be DER or PEM;
 * --trust, --crl and --chain files may hold several PEM blocks, and may be repeated.
 */
import { readFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { parseEnvelope } from '../envelope/index.js'
import { isGatewayError } from '../errors.js'
import { createVerifier, etsiOf, parseCrls, signatureDer, withEtsi, type Verdict, type Verifier } from '../signature/index.js'

const USAGE =
  'usage: lienthong verify FILE --signature SIG.p7s --trust ROOTS.pem [--crl CRL.pem] [--chain PEM] [--organ-id ID | --no-sender-check] [--stale-crl unknown|fail] [--tsa-trust TSA-ROOTS.pem] [--json]'

function usage(msg?: string): number {
  if (msg) console.error(`lienthong verify: ${msg}`)
  console.error(USAGE)
  return 2
}

export function summary(file: string, v: Verdict): string {
  const lines = [v.ok ? `VALID: ${file}: ${v.message}` : `INVALID (${v.code}): ${file}: ${v.message}`]
  const etsi = etsiOf(v)
  if (etsi) lines.push(`  ETSI:        ${etsi.indication}${etsi.subIndication ? ` / ${etsi.subIndication}` : ''} (EN 319 102-1)`)
  if (v.signer) {
    lines.push(`  signer:      ${v.signer.subject}`)
    lines.push(`  OrganId:     ${v.signer.organId ?? '(none)'}`)
    lines.push(`  serial:      ${v.signer.serial}`)
    lines.push(`  validity:    ${v.signer.notBefore} .. ${v.signer.notAfter}`)
  }
  if (v.signingTime) lines.push(`  signed at:   ${v.signingTime}`)
  const cn = (subject: string): string => subject.split(/(?<!\\),/).find((p) => p.startsWith('CN=')) ?? subject
  if (v.chain.length) lines.push(`  chain:       ${v.chain.map((c) => cn(c.subject)).join(' <- ')}`)
  if (v.revocation) lines.push(`  revocation:  ${v.revocation.status}${v.revocation.source ? ` (${v.revocation.source})` : ''}`)
  if (v.timestamp) lines.push(`  timestamp:   ${v.timestamp.verdict}${v.timestamp.genTime ? ` ${v.timestamp.genTime}` : ''}${v.timestamp.tsa ? ` by ${v.timestamp.tsa}` : ''}${v.timestamp.reason ? ` (${v.timestamp.reason})` : ''}`)
  if (v.validationTime) lines.push(`  judged at:   ${v.validationTime} (${v.timeSource ?? 'receipt'})`)
  return lines.join('\n')
}

/** From/OrganId of an edXML package (document or status), or undefined when FILE is not one. */
function packageSender(bytes: Uint8Array): string | undefined {
  let i = 0
  while (i < bytes.length && i < 64 && (bytes[i] === 0xef || bytes[i] === 0xbb || bytes[i] === 0xbf || bytes[i]! <= 0x20)) i++
  if (bytes[i] !== 0x3c) return undefined // not XML
  try {
    const env = parseEnvelope(bytes)
    return env.edoc?.messageHeader.from.organId ?? env.status?.messageHeader.from.organId
  } catch {
    return undefined
  }
}

export async function run(argv: string[]): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        signature: { type: 'string', short: 's' },
        trust: { type: 'string', multiple: true },
        crl: { type: 'string', multiple: true },
        chain: { type: 'string', multiple: true },
        'organ-id': { type: 'string' },
        'no-sender-check': { type: 'boolean' },
        'stale-crl': { type: 'string' },
        'tsa-trust': { type: 'string', multiple: true },
        json: { type: 'boolean' },
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
  if (positionals.length !== 1) return usage('give exactly one FILE')
  if (!o.signature) return usage('--signature SIG.p7s is required')
  if (!o.trust?.length) return usage('--trust ROOTS.pem is required')
  const staleCrl = o['stale-crl'] ?? 'unknown'
  if (staleCrl !== 'unknown' && staleCrl !== 'fail') return usage('--stale-crl is unknown or fail')

  const files: Record<string, Buffer> = {}
  for (const p of [positionals[0]!, o.signature, ...o.trust, ...(o.crl ?? []), ...(o.chain ?? []), ...(o['tsa-trust'] ?? [])]) {
    try {
      files[p] ??= await readFile(p)
    } catch (e) {
      return usage(`cannot read ${p}: ${(e as Error).message}`)
    }
  }
  for (const p of o.crl ?? []) {
    try {
      if (parseCrls(files[p]!).length === 0) return usage(`${p} holds no CRL`)
    } catch (e) {
      return usage(isGatewayError(e) ? `${e.code}: ${e.message}` : (e as Error).message)
    }
  }
  let verifier: Verifier
  try {
    verifier = createVerifier({
      trustAnchors: o.trust.map((p) => files[p]!),
      intermediates: (o.chain ?? []).map((p) => files[p]!),
      crls: (o.crl ?? []).map((p) => files[p]!),
      staleCrl,
      ...(o['tsa-trust']?.length ? { tsa: { trustAnchors: o['tsa-trust'].map((p) => files[p]!) } } : {}),
    })
  } catch (e) {
    return usage(isGatewayError(e) ? `${e.code}: ${e.message}` : (e as Error).message)
  }

  if (o['organ-id'] !== undefined && o['no-sender-check']) return usage('--organ-id and --no-sender-check exclude each other')
  const content = files[positionals[0]!]!
  let sender: { organId: string; source: 'option' | 'package' } | undefined
  if (o['organ-id'] !== undefined) sender = { organId: o['organ-id'], source: 'option' }
  else if (!o['no-sender-check']) {
    const from = packageSender(content)
    if (from) sender = { organId: from, source: 'package' }
  }
  const verdict = await verifier.verify(content, signatureDer(files[o.signature]!), sender ? { expectedOrganId: sender.organId } : {})
  if (o.json) console.log(JSON.stringify(sender ? { ...withEtsi(verdict), sender } : withEtsi(verdict), null, 2))
  else {
    console.log(summary(positionals[0]!, verdict))
    console.log(sender ? `  sender:      ${sender.organId} (${sender.source === 'package' ? 'From/OrganId of the package' : '--organ-id'})` : '  sender:      not checked')
  }
  return verdict.ok ? 0 : 1
}
