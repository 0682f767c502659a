/**
 * The operator console's labels, built at run time from the sources of the codes they name, and served to the page
 * as the ES module `/console/labels.js` (routes/console.ts):
 *
 * - `errors`: every code of the error catalogue (src/errors.ts) with its message template (placeholders shown as
 *   `…`), its "how to solve" line, HTTP status and retryable flag. A code added to the catalogue appears here
 *   without touching the console.
 * - `statusCodes`: the QCVN 102 status codes with their Vietnamese names (src/document/delivery.ts).
 * - `states.out` / `states.in`: every outgoing delivery state and incoming package state of
 *   src/document/delivery.ts with its Vietnamese label, a tone for the badge and the status code that leads to it
 *   (derived from STATUS_CODE_STATE / STATUS_CODE_INCOMING_STATE). The label tables are typed by the state unions, so
 *   a new state does not compile until it has a label.
 * - `verdicts`: every signature verdict code (src/signature/verdict.ts), plus the receive pipeline's own rejection
 *   codes, with a Vietnamese label and a tone.
 * - `eventTypes`, `directions`: the names of the delivery log's event types and directions.
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
import { ERRORS, type ErrorCode } from '../errors.js'
import { VERDICT_CODES, type VerdictCode } from '../signature/index.js'

export type Tone = 'ok' | 'info' | 'warn' | 'err' | 'neutral'

export interface StateLabel {
  label: string
  tone: Tone
  /** The status code that moves a package into this state, if one does. */
  code?: StatusCode
}

export interface ErrorLabel {
  /** The catalogue's message template with every `{name}` shown as `…`. */
  label: string
  solve: string
  httpStatus: number
  retryable: boolean
}

export interface ConsoleLabels {
  errors: Record<string, ErrorLabel>
  statusCodes: Record<string, string>
  states: { out: Record<string, StateLabel>; in: Record<string, StateLabel> }
  verdicts: Record<string, { label: string; tone: Tone }>
  eventTypes: Record<string, string>
  directions: Record<Direction, string>
}

const OUT_STATES: Readonly<Record<DeliveryState, [string, Tone]>> = {
  accepted: ['Đã nhận từ DMS', 'neutral'],
  queued: ['Đã chuyển lên trục', 'info'],
  delivered: ['Đã đến', 'ok'],
  received: ['Đã tiếp nhận', 'ok'],
  refused: ['Từ chối tiếp nhận', 'err'],
  assigned: ['Phân công', 'ok'],
  processing: ['Đang xử lý', 'ok'],
  completed: ['Hoàn thành', 'ok'],
  failed: ['Lỗi', 'err'],
  recalled: ['Đã lấy lại', 'warn'],
  'recall-refused': ['Từ chối lấy lại', 'warn'],
}

const IN_STATES: Readonly<Record<IncomingState, [string, Tone]>> = {
  received: ['Đã nhận về, chữ ký hợp lệ', 'ok'],
  fetched: ['DMS đã lấy về', 'info'],
  accepted: ['Đã tiếp nhận', 'ok'],
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
  SIGNING_TIME_IN_FUTURE: ['Thời điểm ký ở tương lai', 'err'],
  SIGNING_TIME_OUT_OF_RANGE: ['Thời điểm ký quá xa thời điểm nhận', 'err'],
  UNTRUSTED_CHAIN: ['Chứng thư không được tin cậy', 'err'],
  CERT_NOT_YET_VALID: ['Chứng thư chưa có hiệu lực', 'err'],
  CERT_EXPIRED: ['Chứng thư hết hạn', 'err'],
  KEY_USAGE: ['Khóa không được phép ký', 'err'],
  REVOKED: ['Chứng thư bị thu hồi', 'err'],
  CRL_EXPIRED: ['Danh sách thu hồi (CRL) hết hạn', 'err'],
  REVOCATION_UNAVAILABLE: ['Không kiểm tra được tình trạng thu hồi (OCSP, CRL)', 'err'],
  SENDER_MISMATCH: ['Chứng thư không thuộc cơ quan gửi', 'err'],
}

/** The receive pipeline's own rejection codes that are not verdicts (src/pipeline/incoming.ts INCOMING_CODES). */
const RECEIVE_CODES: Readonly<Record<string, [string, Tone]>> = {
  NO_SIGNATURE: ['Không có chữ ký', 'err'],
  REPLAY: ['Gửi lặp mã văn bản', 'err'],
  RECIPIENT_NOT_HOSTED: ['Cơ quan nhận không do cổng này phục vụ', 'err'],
  RECIPIENT_NOT_ADDRESSED: ['Cơ quan nhận không có trong danh sách nơi nhận', 'err'],
  ORPHAN_STATUS: ['Gói trạng thái không ứng với văn bản nào', 'err'],
  INTERNAL: ['Lỗi nội bộ khi xử lý gói', 'err'],
}

const EVENT_TYPES: Readonly<Record<string, string>> = {
  state: 'Chuyển trạng thái',
  status: 'Gói trạng thái',
  replayed: 'Vận hành gửi lại',
  'replay-failed': 'Gửi lại không thành',
  discarded: 'Vận hành hủy bỏ',
  'recall-requested': 'Yêu cầu lấy lại',
  note: 'Ghi chú',
}

const DIRECTIONS: Readonly<Record<Direction, string>> = { out: 'Gửi đi', in: 'Nhận về' }

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
  for (const code of Object.keys(ERRORS) as ErrorCode[]) {
    const d = ERRORS[code]
    errors[code] = { label: errorLabel(d.message), solve: d.solve, httpStatus: d.httpStatus, retryable: d.retryable }
  }
  const verdicts: Record<string, { label: string; tone: Tone }> = {}
  for (const [code, [label, tone]] of [...VERDICT_CODES.map((c) => [c, VERDICTS[c]] as const), ...Object.entries(RECEIVE_CODES)]) {
    verdicts[code] = { label, tone }
  }
  return {
    errors,
    statusCodes: { ...STATUS_CODE_LABELS },
    states: {
      out: stateLabels(DELIVERY_STATES, OUT_STATES, codesByState(STATUS_CODE_STATE)),
      in: stateLabels(INCOMING_STATES, IN_STATES, codesByState(STATUS_CODE_INCOMING_STATE)),
    },
    verdicts,
    eventTypes: { ...EVENT_TYPES },
    directions: { ...DIRECTIONS },
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
