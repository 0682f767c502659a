// Shared helpers of the envelope tests (not a test file itself).
import { buildEdoc, isGatewayErrorCode, type EdocInput } from './imports.js'

/**
 * The interop packages kept beside the repository (`../shared/interop/edxml/`, absent from a fresh clone: guard
 * their tests with `interopSkip`) and our own fixtures with the same quirks (`test/fixtures/peers/`).
 */
export { interop, interopFiles, interopPath, interopSkip, peer, peerAndInterop, peerFiles, peerPath } from '../../peers.js'
export const FIXTURES_DIR = new URL('../../fixtures/edxml/', import.meta.url)

/** A small valid document input; override what a test needs. */
export function edocInput(over: Partial<EdocInput> = {}): EdocInput {
  return {
    from: { organId: '000.00.00.G22', organName: 'Văn phòng Chính phủ', organizationInCharge: 'Chính phủ' },
    to: [{ organId: '000.00.00.H41', organName: 'UBND tỉnh Nghệ An', organizationInCharge: 'UBND tỉnh Nghệ An' }],
    code: { codeNumber: '7816', codeNotation: 'VPCP-TTĐT' },
    promulgationInfo: { place: 'Hà Nội', promulgationDate: '2015/09/30' },
    documentType: { type: 1, typeDetail: 0, typeName: 'Công văn' },
    subject: 'V/v kết nối, liên thông phần mềm quản lý văn bản',
    signerInfo: { position: 'Bộ trưởng', fullName: 'Nguyễn Văn A' },
    otherInfo: { pageAmount: 2 },
    attachments: [{ contentId: 'a1', attachmentName: 'vanban.pdf', contentType: 'application/pdf', data: Buffer.from('%PDF-1.4\n%test\n') }],
    now: new Date('2025-10-20T03:00:00Z'),
    ...over,
  }
}

/** The bytes of a small valid package as text, for tests that edit it into something hostile. */
export const edocText = (over: Partial<EdocInput> = {}): string => Buffer.from(buildEdoc(edocInput(over)).bytes).toString('utf8')

/** Run `fn` and return the GW_ERR code it throws (or 'no error'). */
export function codeOf(fn: () => unknown): string {
  try {
    fn()
    return 'no error'
  } catch (e) {
    return isGatewayErrorCode(e) ?? `not a GatewayError: ${String(e)}`
  }
}

/**
 * A package as a peer's producer may write it: the attachments' declared content types are written as given, even
 * where our builder refuses them (a "PDF" that is not one, a ZIP declared as the PDF it carries, ...).
 */
export const peerEdocText = (over: Partial<EdocInput> = {}): string => {
  const declared = (over.attachments ?? []).map((a) => a.contentType)
  const placeholder = (i: number) => `application/x-lienthong-test-declared-${i}`
  let text = edocText({ ...over, ...(over.attachments ? { attachments: over.attachments.map((a, i) => ({ ...a, contentType: placeholder(i) })) } : {}) })
  declared.forEach((type, i) => (text = text.replaceAll(placeholder(i), type ?? '')))
  return text
}
