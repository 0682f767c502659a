/**
 * The operator console's labels, built at run time from the sources of the codes they name, and served to the page
 * as the ES module `/console/labels.js` (routes/console.ts):
 *
 * - `errors`: every code of the error catalogue (src/errors.ts) with its Vietnamese label and, where an operator
 *   acts on it, a Vietnamese "cách khắc phục" (./labels-vi.ts, typed by the catalogue's codes, so a new code does not
 *   compile without them); the English message template (placeholders shown as `…`) and "how to solve" line are kept
 *   for the console's "chi tiết kỹ thuật" fold; HTTP status and retryable flag.
 * - `statusCodes`: the QCVN 102 status codes with their Vietnamese names (src/document/delivery.ts).
 * - `states.out` / `states.in`: every outgoing delivery state and incoming package state of
 *   src/document/delivery.ts with its Vietnamese label, a tone for the badge and the status code that leads to it
 *   (derived from STATUS_CODE_STATE / STATUS_CODE_INCOMING_STATE). The label tables are typed by the state unions, so
 *   a new state does not compile until it has a label.
 * - `verdicts`: every signature verdict code (src/signature/verdict.ts and the PDF ones of src/signature/pdf.ts),
 *   plus every refusal code stored for an incoming package (the GW_ERR_RECEIVE_* codes without their prefix), with a
 *   Vietnamese label and a tone.
 * - `etsi`: the ETSI EN 319 102-1 main indications and sub-indications (src/signature/etsi.ts) in Vietnamese, and
 *   the indication of each verdict code, for verdicts stored before they carried their own (`etsi`).
 * - `eventTypes`, `directions`, `actors`: the names of the delivery log's event types, directions and actor kinds.
 * - `trust`: the kinds of item and the expiry levels of the trust watch (src/pipeline/trust-watch.ts), typed by their
 *   unions (a new kind or level does not compile without its label), and the health screen's words.
 * - `causes`, `detailKeys`: the log's English causes as patterns with their Vietnamese text, the names of detail
 *   fields (./labels-vi.ts).
 */
import {
  DELIVERY_STATES,
  INCOMING_STATES,
  STATUS_CODE_INCOMING_STATE,
  STATUS_CODE_LABELS,
  STATUS_CODE_STATE,
  STATUS_CODES,
  type DeliveryState,
  type Direction,
  type IncomingState,
  type StatusCode,
} from '../document/delivery.js'
import { ERRORS, storedRefusalCode, type ErrorCode } from '../errors.js'
import { ETSI_BY_CODE, VERDICT_CODES, type EtsiIndication, type EtsiResult, type EtsiSubIndication, type VerdictCode } from '../signature/index.js'
import { PDF_VERDICT_CODES } from '../signature/pdf.js'
import { AXIS_VI, CAUSES_VI, DETAIL_KEYS_VI, ERROR_LABELS_VI, TRUST_VI } from './labels-vi.js'

export type Tone = 'ok' | 'info' | 'warn' | 'err' | 'neutral'

export interface StateLabel {
  label: string
  tone: Tone
  /** The status code that moves a package into this state, if one does. */
  code?: StatusCode
}

export interface ErrorLabel {
  /** Vietnamese label of the code. */
  label: string
  /** Vietnamese "cách khắc phục", where an operator acts on the code. */
  solve?: string
  /** The catalogue's (English) message template with every `{name}` shown as `…` ('' when only a placeholder). */
  en: string
  /** The catalogue's (English) "how to solve" line. */
  solveEn: string
  httpStatus: number
  retryable: boolean
}

export interface ConsoleLabels {
  errors: Record<string, ErrorLabel>
  statusCodes: Record<string, string>
  states: { out: Record<string, StateLabel>; in: Record<string, StateLabel> }
  verdicts: Record<string, { label: string; tone: Tone }>
  etsi: { indications: Record<EtsiIndication, string>; subIndications: Record<EtsiSubIndication, string>; byCode: Record<string, EtsiResult> }
  eventTypes: Record<string, string>
  directions: Record<Direction, string>
  actors: Record<'system' | 'peer' | 'client' | 'operator' | 'vxp', string>
  /** The axis connector's states, the transport of a delivery (`detail.via`), a `queued` confirmed by the axis. */
  axis: { states: Record<string, string>; via: Record<string, string>; queued: string; health: Record<string, string> }
  /** The trust watch (src/pipeline/trust-watch.ts): item kinds, expiry levels, the health screen's words. */
  trust: { kinds: Record<string, string>; levels: Record<string, string>; health: Record<string, string> }
  /** [regular expression source, Vietnamese template with `{group}`], first match wins. */
  causes: (readonly [string, string])[]
  detailKeys: Record<string, string>
}

const OUT_STATES: Readonly<Record<DeliveryState, [string, Tone]>> = {
  accepted: ['Đã nhận từ DMS', 'neutral'],
  queued: ['Đã phát lên mạng liên thông lienthong', 'info'],
  delivered: ['Đã đến', 'ok'],
  registered: ['Đã tiếp nhận', 'ok'],
  refused: ['Từ chối tiếp nhận', 'err'],
  assigned: ['Phân công', 'ok'],
  processing: ['Đang xử lý', 'ok'],
  completed: ['Hoàn thành', 'ok'],
  failed: ['Lỗi', 'err'],
  recalled: ['Đã lấy lại', 'warn'],
  'recall-refused': ['Từ chối lấy lại', 'warn'],
}

const IN_STATES: Readonly<Record<IncomingState, [string, Tone]>> = {
  arrived: ['Đã nhận về, chữ ký hợp lệ', 'ok'],
  fetched: ['DMS đã lấy về', 'info'],
  registered: ['Đã tiếp nhận', 'ok'],
  refused: ['Từ chối tiếp nhận', 'err'],
  assigned: ['Phân công', 'ok'],
  processing: ['Đang xử lý', 'ok'],
  completed: ['Hoàn thành', 'ok'],
  'recall-requested': ['Bên gửi yêu cầu lấy lại', 'warn'],
  recalled: ['Đã đồng ý lấy lại', 'warn'],
  'recall-refused': ['Từ chối lấy lại', 'warn'],
  rejected: ['Bị từ chối', 'err'],
  discarded: ['Đã hủy bỏ', 'neutral'],
}

const VERDICTS: Readonly<Record<VerdictCode, [string, Tone]>> = {
  VALID: ['Chữ ký hợp lệ', 'ok'],
  MALFORMED: ['Chữ ký sai cấu trúc', 'err'],
  UNSUPPORTED_ALGORITHM: ['Thuật toán không hỗ trợ', 'err'],
  MISSING_SIGNED_ATTRIBUTES: ['Chữ ký thiếu thuộc tính được ký', 'err'],
  NO_SIGNER_CERTIFICATE: ['Thiếu chứng thư người ký', 'err'],
  DIGEST_MISMATCH: ['Nội dung bị thay đổi', 'err'],
  BAD_SIGNATURE: ['Chữ ký không đúng', 'err'],
  SIGNING_CERTIFICATE_MISMATCH: ['Chứng thư ký không khớp thuộc tính ký', 'err'],
  TIMESTAMP_INVALID: ['Dấu thời gian không hợp lệ', 'err'],
  TIMESTAMP_MISMATCH: ['Dấu thời gian không khớp với chữ ký', 'err'],
  TIMESTAMP_UNTRUSTED: ['Dấu thời gian không do TSA tin cậy cấp', 'err'],
  SIGNING_TIME_IN_FUTURE: ['Thời điểm ký ở tương lai', 'err'],
  SIGNING_TIME_OUT_OF_RANGE: ['Thời điểm ký quá xa thời điểm nhận', 'err'],
  UNTRUSTED_CHAIN: ['Chứng thư không được tin cậy', 'err'],
  CERT_NOT_YET_VALID: ['Chứng thư chưa có hiệu lực', 'err'],
  CERT_EXPIRED: ['Chứng thư hết hạn', 'err'],
  KEY_USAGE: ['Khóa không được phép ký', 'err'],
  REVOKED: ['Tình trạng chứng thư (CRL/OCSP): đã bị chấm dứt hiệu lực', 'err'],
  CRL_EXPIRED: ['Tình trạng chứng thư (CRL/OCSP): CRL đã quá hạn cập nhật', 'err'],
  REVOCATION_UNAVAILABLE: ['Tình trạng chứng thư (CRL/OCSP): không nguồn nào trả lời', 'err'],
  SENDER_MISMATCH: ['Chứng thư không thuộc cơ quan gửi', 'err'],
}

const PDF_VERDICTS: Readonly<Record<(typeof PDF_VERDICT_CODES)[number], [string, Tone]>> = {
  UNSUPPORTED_SUBFILTER: ['Kiểu chữ ký PDF không được kiểm tra', 'warn'],
  MODIFIED_AFTER_SIGNING: ['Tệp PDF bị sửa sau khi ký', 'err'],
  MDP_PERMISSION_VIOLATED: ['Tệp PDF bị sửa trái quyền mà chữ ký cho phép', 'err'],
}

const ETSI_INDICATIONS_VI: Readonly<Record<EtsiIndication, string>> = {
  TOTAL_PASSED: 'Hợp lệ',
  TOTAL_FAILED: 'Không hợp lệ',
  INDETERMINATE: 'Chưa xác định được',
}

const ETSI_SUB_INDICATIONS_VI: Readonly<Record<EtsiSubIndication, string>> = {
  FORMAT_FAILURE: 'sai định dạng chữ ký',
  HASH_FAILURE: 'nội dung đã bị thay đổi sau khi ký',
  SIG_CRYPTO_FAILURE: 'giá trị chữ ký không đúng',
  SIG_CONSTRAINTS_FAILURE: 'không đạt ràng buộc của chính sách kiểm tra chữ ký',
  CHAIN_CONSTRAINTS_FAILURE: 'chứng thư không đạt ràng buộc về mục đích sử dụng',
  CRYPTO_CONSTRAINTS_FAILURE: 'thuật toán hoặc độ dài khóa không được chấp nhận',
  NO_SIGNING_CERTIFICATE_FOUND: 'không xác định được chứng thư của người ký',
  NO_CERTIFICATE_CHAIN_FOUND: 'không dựng được chuỗi chứng thư đến tổ chức được tin cậy',
  REVOKED_NO_POE: 'chứng thư đã bị chấm dứt hiệu lực, không có bằng chứng chữ ký có trước thời điểm đó',
  OUT_OF_BOUNDS_NO_POE: 'ngoài thời hạn hiệu lực của chứng thư, không có bằng chứng về thời điểm ký',
  TRY_LATER: 'chưa có thông tin tình trạng chứng thư, cần kiểm tra lại sau',
}

const EVENT_TYPES: Readonly<Record<string, string>> = {
  state: 'Chuyển trạng thái',
  status: 'Gói trạng thái',
  replayed: 'Vận hành gửi lại',
  'replay-failed': 'Gửi lại không thành',
  discarded: 'Vận hành hủy bỏ',
  'recall-requested': 'Yêu cầu lấy lại',
  purged: 'Xóa nội dung gói theo thời hạn lưu trữ',
  signed: 'Đã ký số (sau khi chờ thiết bị ký)',
  note: 'Ghi chú',
  revoke: 'Bên gửi thu hồi văn bản',
  updated: 'Văn bản được cập nhật',
  superseded: 'Văn bản được thay thế',
  'webhook-delivered': 'Đã báo DMS qua webhook',
  'webhook-abandoned': 'Báo DMS qua webhook không thành',
  'axis-attempt': 'Gửi lên trục liên thông văn bản quốc gia không thành',
}

const DIRECTIONS: Readonly<Record<Direction, string>> = { out: 'Gửi đi', in: 'Nhận về' }

const ACTORS: Readonly<ConsoleLabels['actors']> = {
  system: 'Hệ thống (cổng)',
  peer: 'Cơ quan bên kia',
  client: 'Hệ thống quản lý văn bản (DMS)',
  operator: 'Vận hành viên',
  vxp: 'Hệ thống DMS kết nối qua giao thức VXP',
}

/** The status code leading to each state, from a status code → state map of delivery.ts. */
function codesByState(map: Readonly<Record<StatusCode, string | undefined>>): Map<string, StatusCode> {
  const out = new Map<string, StatusCode>()
  for (const code of STATUS_CODES) {
    const state = map[code]
    if (state !== undefined && !out.has(state)) out.set(state, code)
  }
  return out
}

function stateLabels<S extends string>(states: readonly S[], table: Readonly<Record<S, [string, Tone]>>, codes: Map<string, StatusCode>): Record<string, StateLabel> {
  const out: Record<string, StateLabel> = {}
  for (const s of states) {
    const [label, tone] = table[s]
    const code = codes.get(s)
    out[s] = { label, tone, ...(code ? { code } : {}) }
  }
  return out
}

/** `{name}` placeholders of a catalogue message shown as `…`; a message that is only a placeholder gives ''. */
export const errorLabel = (template: string): string =>
  template
    .replace(/\{[A-Za-z0-9_]+\}/g, '…')
    .replace(/^[\s…:]+$/, '')
    .trim()

export function consoleLabels(): ConsoleLabels {
  const errors: Record<string, ErrorLabel> = {}
  const verdicts: Record<string, { label: string; tone: Tone }> = {}
  for (const code of Object.keys(ERRORS) as ErrorCode[]) {
    const d = ERRORS[code]
    const vi = ERROR_LABELS_VI[code]
    errors[code] = { label: vi.label, ...(vi.solve ? { solve: vi.solve } : {}), en: errorLabel(d.message), solveEn: d.solve, httpStatus: d.httpStatus, retryable: d.retryable }
    // the code an incoming package's verdict stores for this refusal (NO_SIGNATURE, REPLAY, ...)
    if (code.startsWith('GW_ERR_RECEIVE_')) verdicts[storedRefusalCode(code)] = { label: vi.label, tone: 'err' }
  }
  for (const c of VERDICT_CODES) verdicts[c] = { label: VERDICTS[c][0], tone: VERDICTS[c][1] }
  for (const c of PDF_VERDICT_CODES) verdicts[c] = { label: PDF_VERDICTS[c][0], tone: PDF_VERDICTS[c][1] }
  // a package from the national axis (src/pipeline/receive-axis.ts): accepted, flagged
  verdicts.AXIS_UNSIGNED = { label: AXIS_VI.unsignedVerdict, tone: 'warn' }
  return {
    errors,
    statusCodes: { ...STATUS_CODE_LABELS },
    states: {
      out: stateLabels(DELIVERY_STATES, OUT_STATES, codesByState(STATUS_CODE_STATE)),
      in: stateLabels(INCOMING_STATES, IN_STATES, codesByState(STATUS_CODE_INCOMING_STATE)),
    },
    verdicts,
    etsi: { indications: { ...ETSI_INDICATIONS_VI }, subIndications: { ...ETSI_SUB_INDICATIONS_VI }, byCode: JSON.parse(JSON.stringify(ETSI_BY_CODE)) as Record<string, EtsiResult> },
    eventTypes: { ...EVENT_TYPES },
    directions: { ...DIRECTIONS },
    actors: { ...ACTORS },
    causes: CAUSES_VI.map(([p, vi]) => [p, vi] as const),
    detailKeys: { ...DETAIL_KEYS_VI },
    axis: { states: { ...AXIS_VI.states }, via: { ...AXIS_VI.via }, queued: AXIS_VI.queued, health: { ...AXIS_VI.health } },
    trust: { kinds: { ...TRUST_VI.kinds }, levels: { ...TRUST_VI.levels }, health: { ...TRUST_VI.health } },
  }
}

/** The labels as the ES module the console imports (`import LABELS from './labels.js'`). */
export function consoleLabelsModule(labels: ConsoleLabels = consoleLabels()): string {
  return (
    '// Generated by the gateway at start from src/errors.ts, src/document/delivery.ts and src/signature/verdict.ts\n' +
    '// (src/api/console-labels.ts). Not a file in src/console/.\n' +
    `export default Object.freeze(${JSON.stringify(labels, null, 1)})\n`
  )
}
