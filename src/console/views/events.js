// Events of the delivery log as table cells: the state an event leaves, who did it, its cause and detail in
// Vietnamese (the gateway's English cause and the raw fields in the "chi tiết kỹ thuật" fold), a document's timeline.

import { badge, h, table, techFold, timeEl } from '../dom.js'
import { actorText, agencyText, causeInfo, fmtTime, LABELS, reasonInfo, stateInfo, statusText, verdictInfo } from '../format.js'

/** Detail keys shown only in the fold (technical facts of the package). */
const QUIET = new Set(['kind', 'priority', 'sha256', 'size', 'messageId', 'statusPackageId', 'requestPackageId', 'revokePackageId', 'by', 'webhookId'])

const keyName = (k) => LABELS.detailKeys[k] ?? k

/** A detail value as text: a person (staffInfo) as "name, unit, phone, email"; other objects as "key: value" pairs. */
function valueText(k, v) {
  if (v === null || v === undefined) return ''
  if (Array.isArray(v)) return v.map((x) => valueText(k, x)).filter(Boolean).join('; ')
  if (typeof v === 'object') {
    if ('staff' in v || 'department' in v) return [v.staff, v.department, v.mobile, v.email].filter(Boolean).join(', ')
    return Object.entries(v)
      .filter(([, x]) => x !== undefined && x !== null && x !== '')
      .map(([kk, x]) => `${keyName(kk)}: ${valueText(kk, x)}`)
      .join('; ')
  }
  if (k === 'timestamp') return fmtTime(String(v).replace(/^(\d{4})\/(\d\d)\/(\d\d) /, '$1-$2-$3T').replace(/T(\d\d:\d\d:\d\d)$/, 'T$1+07:00'))
  if (k === 'previousReason' || k === 'reason') return reasonInfo(v)?.text ?? String(v)
  if (k === 'kind') return v === 'status' ? 'Gói trạng thái' : v === 'edoc' ? 'Văn bản điện tử' : String(v)
  if (k === 'via') return LABELS.axis?.via[v] ?? String(v)
  return String(v)
}

/** The detail of an event as a list of Vietnamese fields; `all`: also the technical ones (document page). */
export function detailItems(detail, all = false) {
  const items = []
  for (const [k, v] of Object.entries(detail ?? {})) {
    if (v === undefined || v === null || v === '' || QUIET.has(k) || !LABELS.detailKeys[k]) continue
    if (k === 'verdict' && typeof v === 'string') {
      items.push(h('li', {}, h('b', {}, `${keyName(k)}: `), badge(verdictInfo(v))))
      continue
    }
    if (k === 'verdictMessage') continue // English: in the fold
    let text = valueText(k, v)
    if (!text) continue
    if (!all && text.length > 160) text = `${text.slice(0, 157)}…`
    items.push(h('li', {}, h('b', {}, `${keyName(k)}: `), text))
  }
  return items.length ? h('ul', { class: 'detail-list' }, items) : null
}

/** The fields of a detail an operator does not read every day, with the English cause: for the fold. */
function techItems(e) {
  const c = causeInfo(e.cause)
  const rows = [['cause', c?.en], ['actor', e.actor], ['type', e.type], ['state', [e.fromState ?? e.from, e.state].filter(Boolean).join(' → ')]]
  for (const [k, v] of Object.entries(e.detail ?? {})) {
    if (v === undefined || v === null || v === '') continue
    if (QUIET.has(k) || !LABELS.detailKeys[k] || k === 'verdictMessage' || k === 'previousReason' || k === 'reason') {
      rows.push([k, typeof v === 'object' ? valueText(k, v) : String(v)])
    }
  }
  if (e.seq !== undefined) rows.push(['seq', String(e.seq)])
  return rows
}

/** Cause and detail of an event: the Vietnamese cause, the detail fields, the fold. */
export function causeCell(e, all = false) {
  const c = causeInfo(e.cause)
  return [c?.vi ? h('span', { class: 'cause-vi' }, c.vi) : null, detailItems(e.detail, all), techFold(techItems(e))]
}

/**
 * Where a status came from: a status the peer sent us is shown as received from it, one we (the DMS or the gateway
 * itself) sent as sent to the peer.
 */
export function statusOrigin(e) {
  if (!e.statusCode) return null
  const actor = String(e.actor ?? '')
  if (actor.startsWith('peer:')) return h('span', { class: 'origin in' }, `↘ Nhận từ ${agencyText(actor.slice(5))}`)
  const to = e.direction === 'out' ? e.recipient : e.sender
  return h('span', { class: 'origin out' }, `↗ Gửi tới ${to ? agencyText(to) : 'cơ quan bên kia'}`)
}

/** A state's badge; a delivery the national axis confirmed (`detail.via` axis) is "sent to the axis", not "to the broker". */
function stateBadgeInfo(state, direction, via) {
  if (via === 'axis' && state === 'queued' && LABELS.axis) return { text: LABELS.axis.queued, tone: 'info', hint: 'queued (via: axis)' }
  return stateInfo(state, direction)
}

/**
 * The state an event leaves: `from → to` on the timeline; an event that changed nothing (a repeated or late status)
 * keeps its state, and says what was asked. `via`: the event's `detail.via` (the transport that confirmed it).
 */
export function stateCell(from, to, changed, statusCode, direction, withFrom, via) {
  if (!from && !to && !statusCode) return '' // a note, not about a state
  if (changed === false) {
    const kept = from ?? to
    return [
      kept ? badge(stateBadgeInfo(kept, direction, via)) : '',
      h('span', { class: 'sub' }, `không đổi trạng thái${to && to !== kept ? `: ${statusCode ? `mã ${statusCode} đến muộn/lặp` : `yêu cầu chuyển sang ${stateInfo(to, direction).text}`}` : ''} (ghi lại để đối chiếu)`),
    ]
  }
  const st = to ? stateBadgeInfo(to, direction, via) : null
  return [
    withFrom && from ? [badge(stateBadgeInfo(from, direction, via)), ' → '] : '',
    st ? badge(st) : '',
    statusCode && st?.code !== statusCode ? h('span', { class: 'sub' }, `Trạng thái ${statusText(statusCode)}`) : null,
  ]
}

export function timelineTable(entries, direction) {
  // a delivery the axis confirmed: its `queued` is the axis's on every row (also as the state a later status left)
  const via = entries.some((e) => e.state === 'queued' && e.detail?.via === 'axis') ? 'axis' : undefined
  const rows = entries.map((e) =>
    h(
      'tr',
      { class: e.changed === false ? 'unchanged' : undefined },
      h('td', { class: 'nowrap' }, timeEl(e.time)),
      h('td', {}, LABELS.eventTypes[e.type] ?? e.type),
      h('td', {}, stateCell(e.from ?? e.fromState, e.state, e.changed, e.statusCode, direction, true, via ?? e.detail?.via)),
      h('td', {}, e.statusCode ? [statusText(e.statusCode), statusOrigin({ direction, ...e })] : ''),
      h('td', {}, actorText(e.actor)),
      h('td', { class: 'cause' }, causeCell(e, true)),
    ),
  )
  return table('Dòng thời gian (cũ nhất trước)', ['Thời gian (giờ VN)', 'Sự kiện', 'Trạng thái', 'Mã trạng thái', 'Người thực hiện', 'Nguyên nhân, chi tiết'], rows)
}
