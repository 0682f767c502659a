/**
 * Inbox fixtures: real document packages (buildEdoc), signed with certs-sample keys and verified with the sample
 * trust anchors, stored with store.recordIncoming as the receive pipeline would, so the inbox API is tested without
 * depending on the broker or the consumer.
 */
import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { zipSync } from 'fflate'
import { buildEdoc, parseEnvelope, type AttachmentInput, type Envelope } from '../../src/envelope/index.js'
import { verifierFromConfig } from '../../src/pipeline/receiver.js'
import { loadSigner, type Signer, type Verifier } from '../../src/signature/index.js'
import type { Config } from '../../src/config.js'
import type { Store, StoredIncoming } from '../../src/store/index.js'
import { CERTS, G22, H26, H29, STC } from '../helper.js'

export const SLUGS: Record<string, string> = { [G22]: 'vpcp', [H29]: 'ubnd-hcm', [STC]: 'stc-hcm', [H26]: 'ubnd-hanoi' }
export const NAMES: Record<string, string> = {
  [G22]: 'Văn phòng Chính phủ',
  [H29]: 'Ủy ban nhân dân Thành phố Hồ Chí Minh',
  [STC]: 'Sở Tài chính Thành phố Hồ Chí Minh',
  [H26]: 'Ủy ban nhân dân Thành phố Hà Nội',
}

const signers = new Map<string, Promise<Signer>>()
/** The sample PKI signer of an agency (PEM files of certs-sample/agencies/<slug>). */
export function signerOf(organId: string): Promise<Signer> {
  let s = signers.get(organId)
  if (!s) {
    const dir = path.join(CERTS, 'agencies', SLUGS[organId] as string)
    s = loadSigner({
      keyPem: readFileSync(path.join(dir, 'key.pem'), 'utf8'),
      certPem: readFileSync(path.join(dir, 'cert.pem'), 'utf8'),
      chainPem: readFileSync(path.join(dir, 'chain.pem'), 'utf8'),
    })
    signers.set(organId, s)
  }
  return s
}

let verifier: Verifier | undefined
export const verifierFor = (config: Config): Verifier => (verifier ??= verifierFromConfig(config))

export const PDF = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n% Công văn thử nghiệm\ntrailer << /Root 1 0 R >>\n%%EOF\n', 'utf8')
export const PDF2 = Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.alloc(100_000, 0x41), Buffer.from('\n%%EOF\n')])

/** A PDF sent under the ZIP convention: single-entry ZIP, declared application/zip, name not ending in .zip. */
export function zippedPdf(name: string, pdf: Uint8Array = PDF2): AttachmentInput {
  return { contentId: 'cid:zipped-1', attachmentName: name, contentType: 'application/zip', description: 'Quyết định (nén)', data: zipSync({ [name]: pdf }) }
}

export const plainPdf = (name = 'cong-van.pdf', data: Uint8Array = PDF): AttachmentInput => ({
  contentId: 'cid:plain-1',
  attachmentName: name,
  contentType: 'application/pdf',
  description: 'Công văn',
  data,
})

const organ = (organId: string) => ({ organId, organName: NAMES[organId] ?? organId, organizationInCharge: NAMES[organId] ?? organId })

let n = 0
export interface Seeded {
  incoming: StoredIncoming
  envelope: Envelope
  signature: Uint8Array
}

/** Build, sign, verify and store a received document from `from` to `to`. */
export async function seedIncoming(
  store: Store,
  config: Config,
  o: { from: string; to: string; attachments?: AttachmentInput[]; rejected?: boolean; subject?: string; at?: Date; rewrite?: (xml: string) => string },
): Promise<Seeded> {
  n++
  const codeNumber = String(100 + n)
  const codeNotation = `${o.from === STC ? 'STC' : 'UBND'}-VP`
  const built = buildEdoc({
    from: organ(o.from),
    to: [organ(o.to)],
    code: { codeNumber, codeNotation },
    promulgationInfo: { place: 'Hà Nội', promulgationDate: '2026/11/20' },
    documentType: { type: 1, typeName: 'Công văn' },
    subject: o.subject ?? `V/v báo cáo số ${n}`,
    signerInfo: { position: 'Chủ tịch', fullName: 'Trần Văn Bình' },
    otherInfo: { pageAmount: 1 },
    attachments: o.attachments ?? [plainPdf()],
  })
  // another implementation's spelling of the package (what our builder never writes), signed as it is
  const env = o.rewrite ? parseEnvelope(Buffer.from(o.rewrite(Buffer.from(built.bytes).toString('utf8')))) : built
  const signer = await signerOf(o.from)
  let signature = await signer.sign(env.bytes)
  if (o.rejected) signature = await (await signerOf(o.from === STC ? H26 : STC)).sign(env.bytes) // another agency's key
  const verdict = await verifierFor(config).verify(env.bytes, signature, { expectedOrganId: o.from })
  const h = env.edoc!.messageHeader
  const rec = await store.recordIncoming({
    package: {
      id: randomUUID(),
      kind: 'edoc',
      documentId: h.documentId,
      senderOrganId: o.from,
      recipient: o.to,
      messageId: randomUUID(),
      bytes: env.bytes,
      signature,
      sha256: env.sha256(),
      priority: 0,
      subject: h.subject,
      codeNumber,
      codeNotation,
      promulgationDate: '2026/11/20',
      metadata: { businessType: 0 },
      verdict: JSON.parse(JSON.stringify(verdict)) as Record<string, unknown>,
    },
    state: verdict.ok ? 'arrived' : 'rejected',
    ...(verdict.ok ? {} : { reason: `${verdict.code}: ${verdict.message}` }),
    actor: `peer:${o.from}`,
    ...(o.at ? { at: o.at } : {}),
  })
  return { incoming: rec.incoming, envelope: env, signature }
}
