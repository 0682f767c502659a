// lienthong operator console: one ES module, no build step, no dependency.
// Every value from the API reaches the page as a text node or an attribute value (never as HTML).
/* global document, window, location, sessionStorage, fetch, setTimeout, clearTimeout, URL, URLSearchParams, Node, HTMLElement */

const KEY_STORAGE = 'lienthong.operatorKey'
const TZ = 'Asia/Ho_Chi_Minh'

// ---- labels ---------------------------------------------------------------------------------------------

/** QCVN 102 status codes. */
const STATUS_LABELS = {
  '01': 'Đã đến',
  '02': 'Từ chối tiếp nhận',
  '03': 'Đã tiếp nhận',
  '04': 'Phân công',
  '05': 'Đang xử lý',
  '06': 'Hoàn thành',
  '13': 'Lấy lại',
  '15': 'Đồng ý lấy lại',
  '16': 'Từ chối lấy lại',
}

/** Outgoing delivery states: [label, tone, status code]. */
const OUT_STATES = {
  accepted: ['Đã nhận từ DMS', 'neutral'],
  queued: ['Đã chuyển lên trục', 'info'],
  delivered: ['Đã đến', 'ok', '01'],
  received: ['Đã tiếp nhận', 'ok', '03'],
  refused: ['Từ chối tiếp nhận', 'err', '02'],
  assigned: ['Phân công', 'ok', '04'],
  processing: ['Đang xử lý', 'ok', '05'],
  completed: ['Hoàn thành', 'ok', '06'],
  failed: ['Lỗi', 'err'],
  recalled: ['Đã lấy lại', 'warn', '15'],
  'recall-refused': ['Từ chối lấy lại', 'warn', '16'],
}

/** Incoming package states: [label, tone, status code]. */
const IN_STATES = {
  received: ['Đã nhận về, chữ ký hợp lệ', 'ok'],
  fetched: ['DMS đã lấy về', 'info'],
  accepted: ['Đã tiếp nhận', 'ok', '03'],
  refused: ['Từ chối tiếp nhận', 'err', '02'],
  assigned: ['Phân công', 'ok', '04'],
  processing: ['Đang xử lý', 'ok', '05'],
  completed: ['Hoàn thành', 'ok', '06'],
  'recall-requested': ['Bên gửi yêu cầu lấy lại', 'warn', '13'],
  recalled: ['Đã đồng ý lấy lại', 'warn', '15'],
  'recall-refused': ['Từ chối lấy lại', 'warn', '16'],
  rejected: ['Bị từ chối', 'err'],
  discarded: ['Đã hủy bỏ', 'neutral'],
}

const EVENT_TYPES = {
  state: 'Chuyển trạng thái',
  status: 'Gói trạng thái',
  replayed: 'Vận hành gửi lại',
  'replay-failed': 'Gửi lại không thành',
  discarded: 'Vận hành hủy bỏ',
  'recall-requested': 'Yêu cầu lấy lại',
  note: 'Ghi chú',
}

const VERDICTS = {
  VALID: ['Chữ ký hợp lệ', 'ok'],
  MALFORMED: ['Chữ ký sai cấu trúc', 'err'],
  BAD_SIGNATURE: ['Chữ ký không đúng', 'err'],
  DIGEST_MISMATCH: ['Nội dung bị thay đổi', 'err'],
  UNTRUSTED_CHAIN: ['Chứng thư không được tin cậy', 'err'],
  CERT_EXPIRED: ['Chứng thư hết hạn', 'err'],
  CERT_NOT_YET_VALID: ['Chứng thư chưa có hiệu lực', 'err'],
  REVOKED: ['Chứng thư bị thu hồi', 'err'],
  KEY_USAGE: ['Khóa không được phép ký', 'err'],
  SENDER_MISMATCH: ['Chứng thư không thuộc cơ quan gửi', 'err'],
  UNSUPPORTED_ALGORITHM: ['Thuật toán không hỗ trợ', 'err'],
  NO_SIGNER_CERTIFICATE: ['Thiếu chứng thư người ký', 'err'],
  NO_SIGNATURE: ['Không có chữ ký', 'err'],
  REPLAY: ['Gửi lặp mã văn bản', 'err'],
}

const DIRECTIONS = { out: 'Gửi đi', in: 'Nhận về' }

/** A state's label with the English name beside it. */
function stateInfo(state, direction) {
  const table = direction === 'in' ? IN_STATES : OUT_STATES
  const hit = table[state] ?? OUT_STATES[state] ?? IN_STATES[state]
  if (!hit) return { text: state, tone: 'neutral' }
  return { text: hit[2] ? `${hit[0]} (${hit[2]}, ${state})` : `${hit[0]} (${state})`, tone: hit[1], code: hit[2] }
}
const statusText = (code) => (STATUS_LABELS[code] ? `${STATUS_LABELS[code]} (${code})` : String(code))
function verdictInfo(code) {
  const hit = VERDICTS[code]
  if (hit) return { text: `${hit[0]} (${code})`, tone: hit[1] }
  return { text: String(code), tone: /^GW_ERR_/.test(String(code)) ? 'err' : 'neutral' }
}

// ---- DOM helpers ----------------------------------------------------------------------------------------

/** Element builder: attributes as properties/attributes, children as nodes or text (never parsed as HTML). */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue
    if (k === 'class') el.className = v
    else if (k === 'text') el.textContent = v
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v)
    else el.setAttribute(k, v === true ? '' : String(v))
  }
  append(el, children)
  return el
}
function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue
    el.append(c instanceof Node ? c : document.createTextNode(String(c)))
  }
  return el
}
const $ = (id) => document.getElementById(id)
const clear = (el) => el.replaceChildren()
const badge = ({ text, tone }) => h('span', { class: `badge ${tone}` }, text)
const en = (text) => h('span', { lang: 'en', class: 'muted' }, ` (${text})`)

const dateFmt = new Intl.DateTimeFormat('vi-VN', {
  timeZone: TZ,
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hour12: false,
})
/** "25/11/2026 14:05:03" in Vietnam time. */
function fmtTime(iso) {
  if (!iso) return ''
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return String(iso)
  const p = Object.fromEntries(dateFmt.formatToParts(d).map((x) => [x.type, x.value]))
  return `${p.day}/${p.month}/${p.year} ${p.hour === '24' ? '00' : p.hour}:${p.minute}:${p.second}`
}
const timeEl = (iso) => h('time', { datetime: iso }, fmtTime(iso))

function fmtMinutes(min) {
  const m = Math.max(0, Math.round(Number(min) || 0))
  const d = Math.floor(m / 1440)
  const hh = Math.floor((m % 1440) / 60)
  const mm = m % 60
  return [d ? `${d} ngày` : '', hh ? `${hh} giờ` : '', !d && mm ? `${mm} phút` : ''].filter(Boolean).join(' ') || '0 phút'
}

function table(caption, headers, rows) {
  return tableOf({}, caption, headers, h('tbody', {}, rows))
}

/** A captioned table in its scrolling wrapper; `tbody` is kept by the caller when rows are added page by page. */
function tableOf(attrs, caption, headers, tbody) {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      attrs,
      h('caption', {}, caption),
      h('thead', {}, h('tr', {}, headers.map((x) => h('th', { scope: 'col', class: x.cls }, x.text ?? x)))),
      tbody,
    ),
  )
}

function facts(pairs) {
  return h(
    'dl',
    { class: 'facts' },
    pairs.filter(([, v]) => v !== undefined && v !== null && v !== '').map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]),
  )
}

// ---- API ------------------------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, code, message) {
    super(message)
    this.status = status
    this.code = code
  }
}

const getKey = () => sessionStorage.getItem(KEY_STORAGE)

async function call(path, { method = 'GET', body, key = getKey(), raw = false } = {}) {
  const headers = { authorization: `Bearer ${key ?? ''}`, accept: raw ? '*/*' : 'application/json' }
  if (body !== undefined) headers['content-type'] = 'application/json'
  let res
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' })
  } catch {
    throw new ApiError(0, 'NETWORK', 'Không kết nối được tới cổng (gateway unreachable).')
  }
  if (raw && res.ok) return res
  let data
  try {
    data = await res.json()
  } catch {
    data = undefined
  }
  if (!res.ok) throw new ApiError(res.status, data?.code, data?.message ?? `HTTP ${res.status}`)
  return data
}

/** Calls from the screens: a 401 means the key stopped working, back to the login screen. */
async function api(path, opts) {
  try {
    return await call(path, opts)
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      sessionStorage.removeItem(KEY_STORAGE)
      showLogin('Khóa vận hành không còn hợp lệ, vui lòng đăng nhập lại (401 unauthorized).')
    }
    throw e
  }
}

function errorBox(e) {
  const msg = e instanceof ApiError ? e.message : String(e?.message ?? e)
  return h('p', { class: 'error', role: 'alert' }, msg, e?.code && e.code !== 'NETWORK' ? h('code', {}, ` ${e.code}`) : null)
}

function notify(text, tone = 'ok') {
  const n = $('notice')
  n.className = `notice ${tone}`
  n.textContent = text
  n.hidden = false
  clearTimeout(notify.t)
  notify.t = setTimeout(() => (n.hidden = true), 8000)
}

// ---- login ----------------------------------------------------------------------------------------------

function showLogin(message) {
  $('nav').hidden = true
  for (const v of document.querySelectorAll('.view')) v.hidden = v.id !== 'view-login'
  const err = $('login-error')
  err.hidden = !message
  err.textContent = message ?? ''
  $('login-key').setAttribute('aria-invalid', message ? 'true' : 'false')
  $('login-key').focus()
}

async function onLogin(ev) {
  ev.preventDefault()
  const input = $('login-key')
  const key = input.value.trim()
  const err = $('login-error')
  const fail = (text) => {
    err.textContent = text
    err.hidden = false
    input.setAttribute('aria-invalid', 'true')
    input.select()
    input.focus()
  }
  if (!key) return fail('Hãy nhập khóa vận hành.')
  const button = ev.target.querySelector('button[type=submit]')
  button.disabled = true
  try {
    await call('/v1/log?limit=1', { key })
  } catch (e) {
    button.disabled = false
    if (e.status === 401) return fail('Khóa không đúng: cổng không nhận ra khóa này (401 unauthorized).')
    if (e.status === 403) return fail('Đây là khóa của hệ thống quản lý văn bản (DMS), không phải khóa vận hành (403 forbidden).')
    if (e.status === 429) return fail('Quá nhiều lần thử, hãy chờ một phút (429 rate limited).')
    return fail(e.message)
  }
  button.disabled = false
  sessionStorage.setItem(KEY_STORAGE, key)
  input.value = ''
  err.hidden = true
  input.setAttribute('aria-invalid', 'false')
  if (!location.hash || location.hash === '#/login') location.hash = '#/log'
  else route()
}

// ---- router ---------------------------------------------------------------------------------------------

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '')
  const [pathPart, query = ''] = raw.split('?')
  const parts = pathPart.split('/').filter(Boolean).map(decodeURIComponent)
  return { view: parts[0] || 'log', arg: parts[1], params: new URLSearchParams(query) }
}

function show(view) {
  $('nav').hidden = false
  for (const v of document.querySelectorAll('.view')) v.hidden = v.id !== `view-${view}`
  const navView = view === 'doc' ? 'log' : view
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.dataset.view === navView) a.setAttribute('aria-current', 'page')
    else a.removeAttribute('aria-current')
  }
}

function focusTitle(id) {
  const el = $(id)
  if (el && document.activeElement?.tagName !== 'INPUT' && document.activeElement?.tagName !== 'SELECT') el.focus({ preventScroll: false })
}

async function route() {
  if (!getKey()) return showLogin()
  const { view, arg, params } = parseHash()
  switch (view) {
    case 'doc':
      show('doc')
      return renderDoc(arg, params.get('dir'))
    case 'overdue':
      show('overdue')
      focusTitle('overdue-title')
      return renderOverdue()
    case 'dead-letters':
      show('dead-letters')
      focusTitle('dead-title')
      return renderDeadLetters()
    case 'health':
      show('health')
      focusTitle('health-title')
      return renderHealth()
    default:
      show('log')
      fillFilters(params)
      return renderLog(params)
  }
}

// ---- delivery log ---------------------------------------------------------------------------------------

const FILTERS = ['since', 'until', 'agency', 'direction', 'state', 'q', 'documentId']

function fillStateOptions() {
  const sel = $('f-state')
  const seen = new Set()
  const group = (label, table, dir) => {
    const g = h('optgroup', { label })
    for (const state of Object.keys(table)) {
      if (seen.has(state)) continue
      seen.add(state)
      g.append(h('option', { value: state }, stateInfo(state, dir).text))
    }
    sel.append(g)
  }
  group('Gửi đi (out)', OUT_STATES, 'out')
  group('Nhận về (in)', IN_STATES, 'in')
}

/** datetime-local (Vietnam time) ⇄ ISO with +07:00. */
const localToIso = (v) => (v ? `${v.length === 16 ? `${v}:00` : v}+07:00` : '')
function isoToLocal(iso) {
  if (!iso) return ''
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return ''
  return new Date(d.getTime() + 7 * 3600_000).toISOString().slice(0, 19)
}

function fillFilters(params) {
  const form = $('log-filters')
  for (const name of FILTERS) {
    const v = params.get(name) ?? ''
    form.elements[name].value = name === 'since' || name === 'until' ? isoToLocal(v) : v
  }
}

function filtersFromForm() {
  const form = $('log-filters')
  const p = new URLSearchParams()
  for (const name of FILTERS) {
    let v = form.elements[name].value.trim()
    if (name === 'since' || name === 'until') v = localToIso(v)
    if (v) p.set(name, v)
  }
  return p
}

function logQuery(params, extra = {}) {
  const p = new URLSearchParams()
  for (const name of FILTERS) if (params.get(name)) p.set(name, params.get(name))
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) p.set(k, v)
  return p
}

function docLink(e, text) {
  if (!e.packageId) return text
  return h('a', { href: `#/doc/${encodeURIComponent(e.packageId)}?dir=${e.direction}` }, text)
}

/** Detail keys left out of the log list (shown on the document page). */
const QUIET = new Set(['kind', 'priority', 'sha256', 'size', 'messageId'])

function detailItems(detail, all = false) {
  const items = []
  for (const [k, v] of Object.entries(detail ?? {})) {
    if (v === undefined || v === null || v === '' || (!all && QUIET.has(k))) continue
    let text = typeof v === 'object' ? JSON.stringify(v) : String(v)
    if (text.length > 160) text = `${text.slice(0, 157)}…`
    if (k === 'verdict' && typeof v === 'string') items.push(h('li', {}, h('b', {}, 'Kết quả kiểm tra: '), badge(verdictInfo(v))))
    else items.push(h('li', {}, h('b', {}, `${k}: `), text))
  }
  return items.length ? h('ul', { class: 'detail-list' }, items) : null
}

/**
 * The state an event leaves: `from → to` on the timeline; an event that changed nothing (a repeated or late status)
 * keeps its state, and says what was asked.
 */
function stateCell(from, to, changed, statusCode, direction, withFrom) {
  if (!from && !to && !statusCode) return '' // a note, not about a state
  if (changed === false) {
    const kept = from ?? to
    return [
      kept ? badge(stateInfo(kept, direction)) : '',
      h('span', { class: 'sub' }, `không đổi trạng thái${to && to !== kept ? `: ${statusCode ? `mã ${statusCode} đến muộn/lặp` : `yêu cầu chuyển sang ${stateInfo(to, direction).text}`}` : ''} (ghi lại để đối chiếu)`),
    ]
  }
  const st = to ? stateInfo(to, direction) : null
  return [
    withFrom && from ? [badge(stateInfo(from, direction)), ' → '] : '',
    st ? badge(st) : '',
    statusCode && st?.code !== statusCode ? h('span', { class: 'sub' }, `Trạng thái ${statusText(statusCode)}`) : null,
  ]
}

function logRow(e) {
  return h(
    'tr',
    { class: e.changed === false ? 'unchanged' : undefined, 'data-seq': e.seq },
    h('td', { class: 'num' }, e.seq),
    h('td', { class: 'nowrap' }, timeEl(e.time)),
    h(
      'td',
      {},
      h('span', { class: `dir ${e.direction}` }, DIRECTIONS[e.direction] ?? e.direction),
      h('span', { class: 'sub', title: e.type }, EVENT_TYPES[e.type] ?? e.type),
    ),
    h('td', {}, stateCell(e.fromState, e.state, e.changed, e.statusCode, e.direction, false)),
    h('td', { class: 'nowrap' }, e.sender ?? '', h('span', { class: 'sub' }, e.recipient ? `→ ${e.recipient}` : '')),
    h('td', { class: 'mono doc' }, docLink(e, e.documentId ?? e.packageId ?? '')),
    h('td', {}, e.actor),
    h('td', { class: 'cause' }, e.cause ?? '', detailItems(e.detail)),
  )
}

const LOG_HEADERS = ['#', 'Thời gian (giờ VN)', 'Chiều, sự kiện', 'Trạng thái', 'Gửi → Nhận', 'Mã văn bản (DocumentId)', 'Tác nhân', 'Nguyên nhân, chi tiết']

async function renderLog(params) {
  const out = $('log-results')
  clear(out)
  $('log-export').href = `/v1/log/export.csv?${logQuery(params).toString()}`
  const rows = h('tbody')
  const status = h('p', { class: 'muted', role: 'status' }, 'Đang tải…')
  out.append(status)
  let count = 0
  let cursor
  const moreBtn = h('button', { type: 'button', class: 'secondary', id: 'log-more' }, 'Xem thêm (more)')
  const load = async () => {
    moreBtn.disabled = true
    let page
    try {
      page = await api(`/v1/log?${logQuery(params, { limit: '50', cursor }).toString()}`)
    } catch (e) {
      status.replaceWith(errorBox(e))
      return
    }
    for (const e of page.items) rows.append(logRow(e))
    count += page.items.length
    cursor = page.next
    moreBtn.hidden = !cursor
    moreBtn.disabled = false
    status.textContent = count === 0 ? 'Không có sự kiện nào khớp bộ lọc.' : `Đang hiển thị ${count} sự kiện, mới nhất trước${cursor ? '' : ' (hết)'}.`
  }
  moreBtn.addEventListener('click', load)
  const wrap = tableOf({ id: 'log-table' }, 'Sự kiện của nhật ký chuyển phát (chuỗi băm), mới nhất trước', LOG_HEADERS, rows)
  clear(out)
  out.append(status, wrap, h('div', { class: 'more' }, moreBtn))
  await load()
}

async function onExport(ev) {
  ev.preventDefault()
  const a = ev.currentTarget
  const old = a.textContent
  a.textContent = 'Đang xuất…'
  try {
    const res = await call(a.getAttribute('href'), { raw: true })
    const blob = await res.blob()
    const name = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? 'lienthong-log.csv'
    const url = URL.createObjectURL(blob)
    const tmp = h('a', { href: url, download: name, hidden: true })
    document.body.append(tmp)
    tmp.click()
    tmp.remove()
    setTimeout(() => URL.revokeObjectURL(url), 10_000)
    notify(`Đã xuất ${name}.`)
  } catch (e) {
    notify(`Không xuất được CSV: ${e.message}`, 'err')
  } finally {
    a.textContent = old
  }
}

// ---- document detail ------------------------------------------------------------------------------------

function verdictFacts(v) {
  if (!v || typeof v !== 'object' || Object.keys(v).length === 0) return null
  const signer = v.signer ?? {}
  const rev = v.revocation
  return facts([
    ['Kết quả kiểm tra chữ ký', v.code ? badge(verdictInfo(v.code)) : v.ok === true ? badge(verdictInfo('VALID')) : ''],
    ['Diễn giải', v.message],
    ['Người ký', signer.subject],
    ['Mã định danh trong chứng thư', signer.organId],
    ['Số hiệu chứng thư', signer.serial ? h('span', { class: 'mono' }, signer.serial) : undefined],
    ['Cơ quan cấp', signer.issuer],
    ['Thời điểm ký', v.signingTime ? timeEl(v.signingTime) : undefined],
    ['Thu hồi', rev ? [rev.status, rev.checkedAt ? [' — kiểm tra lúc ', timeEl(rev.checkedAt)] : ''] : undefined],
  ])
}

function timelineTable(entries, direction) {
  const rows = entries.map((e) =>
    h(
      'tr',
      { class: e.changed === false ? 'unchanged' : undefined },
      h('td', { class: 'nowrap' }, timeEl(e.time)),
      h('td', {}, EVENT_TYPES[e.type] ?? e.type),
      h('td', {}, stateCell(e.from ?? e.fromState, e.state, e.changed, e.statusCode, direction, true)),
      h('td', {}, e.statusCode ? statusText(e.statusCode) : ''),
      h('td', {}, e.actor),
      h('td', { class: 'cause' }, e.cause ?? '', detailItems(e.detail, true)),
    ),
  )
  return table('Dòng thời gian (cũ nhất trước)', ['Thời gian (giờ VN)', 'Sự kiện', 'Trạng thái', 'Mã trạng thái', 'Tác nhân', 'Nguyên nhân, chi tiết'], rows)
}

async function renderDoc(id, dir) {
  const body = $('doc-body')
  const title = $('doc-title')
  clear(body)
  title.textContent = 'Văn bản'
  body.append(h('p', { class: 'muted', role: 'status' }, 'Đang tải…'))
  try {
    if (dir !== 'in') {
      try {
        const doc = await api(`/v1/documents/${encodeURIComponent(id)}`)
        return renderOutgoing(doc)
      } catch (e) {
        if (!(e instanceof ApiError && e.status === 404)) throw e
      }
    }
    return await renderIncoming(id)
  } catch (e) {
    clear(body)
    body.append(errorBox(e))
  } finally {
    focusTitle('doc-title')
  }
}

function renderOutgoing(doc) {
  const body = $('doc-body')
  const title = $('doc-title')
  title.replaceChildren('Văn bản gửi đi', en('outgoing'), doc.subject ? h('span', { class: 'sub muted' }, `: ${doc.subject}`) : '')
  clear(body)
  body.append(
    h(
      'div',
      { class: 'card' },
      facts([
        ['Trích yếu', doc.subject],
        ['Số/ký hiệu', doc.code],
        ['Mã văn bản (DocumentId)', h('span', { class: 'mono' }, doc.documentId)],
        ['Cơ quan gửi', doc.sender],
        ['Ngày ban hành', doc.promulgationDate],
        ['Nhận từ DMS lúc', timeEl(doc.createdAt)],
        ['Khách DMS', doc.clientId],
        ['Mã gói', h('span', { class: 'mono' }, doc.id)],
        ['Loại gói', doc.kind === 'status' ? 'Gói trạng thái' : 'Văn bản điện tử (edoc)'],
        ['Kích thước', `${Number(doc.size).toLocaleString('vi-VN')} byte`],
        ['SHA-256', h('span', { class: 'mono' }, doc.sha256)],
      ]),
    ),
    h('h2', {}, `Nơi nhận (${doc.deliveries.length})`),
  )
  for (const d of doc.deliveries) {
    body.append(
      h(
        'section',
        { class: 'delivery card', 'aria-label': `Nơi nhận ${d.recipient}` },
        h(
          'div',
          { class: 'delivery-head' },
          h('h3', {}, d.recipient),
          badge(stateInfo(d.state, 'out')),
          d.statusCode ? h('span', {}, `Mã trạng thái mới nhất: ${statusText(d.statusCode)}`) : null,
          h('span', { class: 'muted' }, `Số lần đẩy lên trục: ${d.attempts}`),
          d.queuedAt ? h('span', { class: 'muted' }, 'Lên trục lúc ', timeEl(d.queuedAt)) : null,
        ),
        d.reason ? h('p', { class: 'error' }, `Lý do: ${d.reason}`) : null,
        timelineTable(d.timeline ?? [], 'out'),
      ),
    )
  }
}

async function renderIncoming(id) {
  const body = $('doc-body')
  const title = $('doc-title')
  const [summary, events] = await Promise.all([
    api(`/v1/operator/dead-letters/${encodeURIComponent(id)}`).catch((e) => {
      if (e instanceof ApiError && e.status === 404) return undefined
      throw e
    }),
    api(`/v1/log?packageId=${encodeURIComponent(id)}&limit=500`),
  ])
  if (!summary && events.items.length === 0) throw new ApiError(404, 'GW_ERR_API_NOT_FOUND', `Không tìm thấy gói ${id}.`)
  const first = events.items[events.items.length - 1] ?? {}
  const s = summary ?? { id, state: events.items[0]?.state, sender: first.sender, recipient: first.recipient, documentId: first.documentId }
  title.replaceChildren('Văn bản nhận về', en('incoming'), s.subject ? h('span', { class: 'sub muted' }, `: ${s.subject}`) : '')
  clear(body)
  body.append(
    h(
      'div',
      { class: 'card' },
      facts([
        ['Trạng thái', s.state ? badge(stateInfo(s.state, 'in')) : ''],
        ['Trích yếu', s.subject],
        ['Số/ký hiệu', s.code],
        ['Mã văn bản (DocumentId)', s.documentId ? h('span', { class: 'mono' }, s.documentId) : undefined],
        ['Cơ quan gửi', s.sender],
        ['Cơ quan nhận', s.recipient],
        ['Mã gói', h('span', { class: 'mono' }, id)],
        [s.state === 'rejected' ? 'Lý do từ chối' : 'Lý do từ chối trước đây', s.reason],
      ]),
    ),
  )
  const vf = verdictFacts(s.verdict)
  if (vf) body.append(h('h2', {}, 'Kết quả kiểm tra khi nhận'), h('div', { class: 'card' }, vf))
  const recheck = events.items.find((e) => e.type === 'replayed' || e.type === 'replay-failed')
  if (recheck && typeof recheck.detail?.verdict === 'string') {
    body.append(
      h('h2', {}, 'Kiểm tra lại khi vận hành gửi lại'),
      h(
        'div',
        { class: 'card' },
        facts([
          ['Kết quả', badge(verdictInfo(recheck.detail.verdict))],
          ['Diễn giải', recheck.detail.verdictMessage],
          ['Người ký', recheck.detail.signer],
          ['Lúc', timeEl(recheck.time)],
          ['Vận hành', recheck.actor],
        ]),
      ),
    )
  }
  const timeline = [...events.items].reverse()
  body.append(h('h2', {}, 'Dòng thời gian'), timelineTable(timeline, 'in'))
}

// ---- overdue --------------------------------------------------------------------------------------------

async function renderOverdue() {
  const body = $('overdue-body')
  clear(body)
  const status = h('p', { class: 'muted', role: 'status' }, 'Đang tải…')
  const rows = h('tbody')
  const moreBtn = h('button', { type: 'button', class: 'secondary' }, 'Xem thêm (more)')
  let cursor
  let count = 0
  const load = async () => {
    moreBtn.disabled = true
    let page
    try {
      page = await api(`/v1/operator/overdue?limit=50${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)
    } catch (e) {
      status.replaceWith(errorBox(e))
      return
    }
    policy.textContent = `Hạn (policy): ${page.policy}. Tính đến ${fmtTime(page.now)}.`
    for (const x of page.items) {
      rows.append(
        h(
          'tr',
          {},
          h('td', { class: 'nowrap' }, x.sender, h('span', { class: 'sub' }, `→ ${x.recipient}`)),
          h('td', {}, h('a', { href: `#/doc/${encodeURIComponent(x.packageId)}?dir=out` }, x.subject || x.documentId), x.code ? h('span', { class: 'sub' }, `Số/ký hiệu ${x.code}`) : null),
          h('td', { class: 'mono' }, x.documentId),
          h('td', { class: 'nowrap' }, timeEl(x.queuedAt)),
          h('td', { class: 'nowrap' }, timeEl(x.dueAt)),
          h('td', { class: 'nowrap' }, badge({ text: `quá ${fmtMinutes(x.overdueMinutes)}`, tone: x.overdueMinutes > 1440 ? 'err' : 'warn' })),
        ),
      )
    }
    count += page.items.length
    cursor = page.next
    moreBtn.hidden = !cursor
    moreBtn.disabled = false
    status.textContent = count === 0 ? 'Không có văn bản nào quá hạn báo “Đã đến (01)”.' : `${count} nơi nhận chưa báo “Đã đến (01)” đúng hạn.`
  }
  const policy = h('p', { class: 'muted' })
  moreBtn.addEventListener('click', load)
  body.append(
    policy,
    status,
    tableOf(
      { id: 'overdue-table' },
      'Nơi nhận đã nhận gói trên trục nhưng chưa gửi trạng thái 01 trước hạn',
      ['Gửi → Nhận', 'Văn bản', 'Mã văn bản (DocumentId)', 'Lên trục lúc', 'Hạn báo đã đến', 'Quá hạn'],
      rows,
    ),
    h('div', { class: 'more' }, moreBtn),
  )
  await load()
}

// ---- dead letters ---------------------------------------------------------------------------------------

/** Opens the confirm dialog; resolves to { ok, note }. */
function confirmDialog({ title, text, okText, withNote }) {
  const dlg = $('confirm')
  $('confirm-title').textContent = title
  $('confirm-text').textContent = text
  $('confirm-ok').textContent = okText
  $('confirm-note-field').hidden = !withNote
  $('confirm-note').value = ''
  const opener = document.activeElement
  return new Promise((resolve) => {
    dlg.addEventListener(
      'close',
      () => {
        resolve({ ok: dlg.returnValue === 'ok', note: $('confirm-note').value.trim() })
        if (opener instanceof HTMLElement && opener.isConnected) opener.focus()
      },
      { once: true },
    )
    dlg.returnValue = ''
    dlg.showModal()
    ;(withNote ? $('confirm-note') : $('confirm-ok')).focus()
  })
}

function deadLabel(x) {
  return x.subject || x.code || x.documentId || x.packageId
}

async function act(x, action) {
  const label = deadLabel(x)
  const replay = action === 'replay'
  const { ok, note } = await confirmDialog({
    title: replay ? 'Gửi lại gói này?' : 'Hủy bỏ gói này?',
    text: replay
      ? x.kind === 'incoming'
        ? `Gói “${label}” từ ${x.sender ?? '?'} sẽ được kiểm tra lại chữ ký với danh sách tin cậy hiện tại; nếu hợp lệ sẽ vào hộp thư của ${x.recipient ?? '?'} và gửi trạng thái 01. Việc này được ghi vào nhật ký với tên vận hành của bạn.`
        : `Nơi nhận ${x.recipient} của “${label}” sẽ được đưa lại vào hàng chờ gửi và chuyển lên trục lần nữa. Việc này được ghi vào nhật ký với tên vận hành của bạn.`
      : `Gói “${label}” sẽ bị hủy bỏ và rời khỏi danh sách. Việc này được ghi vào nhật ký với tên vận hành của bạn.`,
    okText: replay ? 'Gửi lại' : 'Hủy bỏ',
    withNote: !replay,
  })
  if (!ok) return
  const result = $('dead-result')
  result.className = 'result'
  result.textContent = 'Đang thực hiện…'
  try {
    const r = await api(`/v1/operator/dead-letters/${encodeURIComponent(x.id)}/${action}`, { method: 'POST', ...(replay ? {} : { body: note ? { note } : {} }) })
    const st = stateInfo(r.state, r.kind === 'incoming' ? 'in' : 'out').text
    if (r.outcome === 'still-rejected') {
      result.className = 'result err'
      result.textContent = `Gửi lại không thành: “${label}” vẫn bị từ chối — ${verdictInfo(r.verdictCode).text}${r.reason ? `: ${r.reason}` : ''}. Ghi nhật ký #${r.seq}.`
    } else if (r.outcome === 'discarded') {
      result.textContent = `Đã hủy bỏ “${label}” (trạng thái: ${st}). Ghi nhật ký #${r.seq}.`
    } else {
      result.textContent = `Đã gửi lại “${label}”: trạng thái mới ${st}${r.verdictCode ? `, ${verdictInfo(r.verdictCode).text}` : ''}. Ghi nhật ký #${r.seq}.${r.reason ? ` Lưu ý: ${r.reason}.` : ''}`
    }
  } catch (e) {
    result.className = 'result err'
    result.textContent = `Không thực hiện được (${e.status || 'lỗi mạng'}): ${e.message}`
    if (e.status === 401) return
  }
  await renderDeadLetters({ keepResult: true })
  // the row (and its button) is gone: keyboard focus goes to the result
  result.focus()
}

async function renderDeadLetters({ keepResult = false } = {}) {
  const body = $('dead-body')
  if (!keepResult) $('dead-result').textContent = ''
  clear(body)
  const status = h('p', { class: 'muted', role: 'status' }, 'Đang tải…')
  const rows = h('tbody')
  const moreBtn = h('button', { type: 'button', class: 'secondary' }, 'Xem thêm (more)')
  let cursor
  let count = 0
  const load = async () => {
    moreBtn.disabled = true
    let page
    try {
      page = await api(`/v1/operator/dead-letters?limit=50${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)
    } catch (e) {
      status.replaceWith(errorBox(e))
      return
    }
    for (const x of page.items) {
      const label = deadLabel(x)
      const incoming = x.kind === 'incoming'
      const canReplay = !(incoming && x.verdict && x.verdict.kind === 'status')
      rows.append(
        h(
          'tr',
          { 'data-id': x.id },
          h('td', {}, badge(incoming ? { text: 'Nhận về bị từ chối', tone: 'err' } : { text: 'Gửi đi bị lỗi', tone: 'warn' })),
          h('td', { class: 'nowrap' }, timeEl(x.time)),
          h('td', { class: 'nowrap' }, x.sender ?? '?', h('span', { class: 'sub' }, `→ ${x.recipient ?? '?'}`)),
          h(
            'td',
            {},
            h('a', { href: `#/doc/${encodeURIComponent(x.packageId)}?dir=${incoming ? 'in' : 'out'}` }, label),
            x.code && x.code !== label ? h('span', { class: 'sub' }, `Số/ký hiệu ${x.code}`) : null,
            x.documentId ? h('span', { class: 'sub mono' }, x.documentId) : null,
          ),
          h(
            'td',
            { class: 'cause' },
            x.verdictCode ? badge(verdictInfo(x.verdictCode)) : null,
            x.reason ? h('span', { class: 'sub' }, x.reason) : null,
            !incoming && x.attempts !== undefined ? h('span', { class: 'sub' }, `Số lần thử: ${x.attempts}`) : null,
          ),
          h(
            'td',
            { class: 'nowrap' },
            h('button', { type: 'button', class: 'small', 'aria-label': `Gửi lại: ${label}`, disabled: !canReplay, onclick: () => act(x, 'replay') }, 'Gửi lại'),
            ' ',
            h('button', { type: 'button', class: 'small danger', 'aria-label': `Hủy bỏ: ${label}`, onclick: () => act(x, 'discard') }, 'Hủy bỏ'),
          ),
        ),
      )
    }
    count += page.items.length
    cursor = page.next
    moreBtn.hidden = !cursor
    moreBtn.disabled = false
    status.textContent = count === 0 ? 'Không có gói nào bị từ chối hay gửi lỗi đang chờ xử lý.' : `${count} gói chờ vận hành xử lý, mới nhất trước.`
  }
  moreBtn.addEventListener('click', load)
  body.append(
    status,
    tableOf(
      { id: 'dead-table' },
      'Gói nhận về bị từ chối (kèm kết quả kiểm tra) và nơi nhận gửi đi bị lỗi (kèm lý do)',
      ['Loại', 'Thời gian', 'Gửi → Nhận', 'Văn bản', 'Lý do', 'Thao tác'],
      rows,
    ),
    h('div', { class: 'more' }, moreBtn),
  )
  await load()
}

// ---- health ---------------------------------------------------------------------------------------------

const okBadge = (ok, yes, no) => badge({ text: ok ? yes : no, tone: ok ? 'ok' : 'err' })

function countsTable(caption, counts, direction) {
  const entries = Object.entries(counts ?? {}).filter(([, n]) => n > 0)
  if (!entries.length) return h('p', { class: 'muted' }, `${caption}: chưa có.`)
  return table(
    caption,
    ['Trạng thái', { text: 'Số lượng', cls: 'num' }],
    entries.map(([s, n]) => h('tr', {}, h('td', {}, badge(stateInfo(s, direction))), h('td', { class: 'num' }, n))),
  )
}

async function renderHealth() {
  const body = $('health-body')
  clear(body)
  body.append(h('p', { class: 'muted', role: 'status' }, 'Đang tải…'))
  let hh
  try {
    hh = await api('/v1/operator/health')
  } catch (e) {
    clear(body)
    body.append(errorBox(e))
    return
  }
  clear(body)
  const st = hh.store
  const verifyOut = h('div', { role: 'status', 'aria-live': 'polite' })
  const verifyBtn = h('button', { type: 'button', class: 'secondary' }, 'Kiểm tra chuỗi băm nhật ký')
  verifyBtn.addEventListener('click', async () => {
    verifyBtn.disabled = true
    verifyOut.textContent = 'Đang kiểm tra…'
    try {
      const r = await api('/v1/log/verify')
      clear(verifyOut)
      verifyOut.append(
        r.ok
          ? h('p', { class: 'result' }, `Chuỗi nguyên vẹn: ${r.checked} dòng khớp (dòng cuối #${r.lastSeq ?? '—'}), ${r.durationMs ?? '?'} ms.`)
          : h('p', { class: 'result err' }, `Chuỗi bị phá vỡ tại dòng #${r.firstBroken?.seq}: ${r.firstBroken?.reason}. Đã kiểm tra ${r.checked} dòng khớp trước đó.`),
      )
    } catch (e) {
      clear(verifyOut)
      verifyOut.append(errorBox(e))
    } finally {
      verifyBtn.disabled = false
    }
  })
  body.append(
    h('p', { class: 'muted' }, 'Cập nhật lúc ', timeEl(hh.time), ' ', h('button', { type: 'button', class: 'small secondary', onclick: () => renderHealth() }, 'Làm mới')),
    h(
      'div',
      { class: 'grid' },
      h('div', { class: 'card' }, h('h2', {}, 'Cổng'), okBadge(hh.status === 'ok', 'Hoạt động bình thường (ok)', 'Suy giảm (degraded)')),
      h('div', { class: 'card' }, h('h2', {}, 'Trục liên thông ', en('broker')), okBadge(hh.broker.ok, 'Đã kết nối', `Mất kết nối (${hh.broker.state})`), hh.broker.url ? h('p', { class: 'mono muted' }, hh.broker.url) : null),
      h('div', { class: 'card' }, h('h2', {}, 'Cơ sở dữ liệu ', en('store')), okBadge(st.ok, 'Trả lời bình thường', 'Không trả lời'), st.detail ? h('p', { class: 'error' }, st.detail) : null),
      h('div', { class: 'card' }, h('h2', {}, 'Chờ chuyển lên trục'), h('p', { class: 'stat' }, st.outboxBacklog ?? '—'), h('p', { class: 'muted' }, 'nơi nhận đã nhận từ DMS, chưa được trục xác nhận')),
      h('div', { class: 'card' }, h('h2', {}, 'Nhật ký'), h('p', { class: 'stat' }, st.events ?? '—'), h('p', { class: 'muted' }, 'dòng trong chuỗi băm'), verifyBtn, verifyOut),
    ),
    h('h2', {}, 'Hàng đợi trên trục ', en('queue depths')),
    table(
      'Số thông điệp đang chờ trong hàng đợi nhận và hàng đợi thư lỗi của từng cơ quan',
      ['Cơ quan', 'Hàng đợi nhận', { text: 'Đang chờ', cls: 'num' }, 'Hàng đợi thư lỗi', { text: 'Đang chờ', cls: 'num' }, 'Ghi chú'],
      hh.queues.map((q) =>
        h(
          'tr',
          {},
          h('td', {}, q.organId, h('span', { class: 'sub' }, q.name ?? '')),
          h('td', { class: 'mono' }, q.inbox),
          h('td', { class: 'num' }, q.inboxMessages ?? '—'),
          h('td', { class: 'mono' }, q.deadLetter),
          h('td', { class: 'num' }, q.deadLetterMessages !== undefined ? (q.deadLetterMessages > 0 ? badge({ text: String(q.deadLetterMessages), tone: 'err' }) : '0') : '—'),
          h('td', {}, q.error ?? ''),
        ),
      ),
    ),
    h('h2', {}, 'Chứng thư ký của các cơ quan ', en('certificate expiry')),
    table(
      'Chứng thư số dùng để ký gói tin của từng cơ quan do cổng phục vụ',
      ['Cơ quan', 'Chủ thể', 'Hiệu lực đến', { text: 'Còn lại', cls: 'num' }],
      hh.certificates.map((c) =>
        h(
          'tr',
          {},
          h('td', {}, c.organId, h('span', { class: 'sub' }, c.name ?? '')),
          h('td', {}, c.subject ?? 'không đọc được chứng thư', c.serial ? h('span', { class: 'sub mono' }, `Số hiệu ${c.serial}`) : null),
          h('td', { class: 'nowrap' }, c.notAfter ? timeEl(c.notAfter) : '—'),
          h(
            'td',
            { class: 'num' },
            c.daysLeft === undefined ? '—' : badge({ text: c.daysLeft < 0 ? `Đã hết hạn ${-c.daysLeft} ngày` : `${c.daysLeft} ngày`, tone: c.daysLeft < 0 ? 'err' : c.daysLeft < 30 ? 'warn' : 'ok' }),
          ),
        ),
      ),
    ),
    h('h2', {}, 'Số liệu trong cơ sở dữ liệu'),
    h('div', { class: 'grid grid-wide' }, countsTable('Nơi nhận gửi đi theo trạng thái', st.deliveriesByState, 'out'), countsTable('Gói nhận về theo trạng thái', st.incomingByState, 'in')),
  )
}

// ---- start ----------------------------------------------------------------------------------------------

function start() {
  fillStateOptions()
  $('login-form').addEventListener('submit', onLogin)
  $('logout').addEventListener('click', () => {
    sessionStorage.removeItem(KEY_STORAGE)
    location.hash = '#/login'
    showLogin()
    notify('Đã đăng xuất.')
  })
  $('log-filters').addEventListener('submit', (ev) => {
    ev.preventDefault()
    const p = filtersFromForm().toString()
    const next = `#/log${p ? `?${p}` : ''}`
    if (location.hash === next) route()
    else location.hash = next
  })
  $('log-filters').addEventListener('reset', () => {
    setTimeout(() => (location.hash = '#/log'), 0)
  })
  $('log-export').addEventListener('click', onExport)
  window.addEventListener('hashchange', route)
  route()
}

start()
