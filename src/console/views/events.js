// Events of the delivery log as table cells: the state an event leaves, its detail, a document's timeline.

import { badge, h, table, timeEl } from '../dom.js'
import { LABELS, stateInfo, statusText, verdictInfo } from '../format.js'

/** Detail keys left out of the log list (shown on the document page). */
const QUIET = new Set(['kind', 'priority', 'sha256', 'size', 'messageId'])

export function detailItems(detail, all = false) {
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
export function stateCell(from, to, changed, statusCode, direction, withFrom) {
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

export function timelineTable(entries, direction) {
  const rows = entries.map((e) =>
    h(
      'tr',
      { class: e.changed === false ? 'unchanged' : undefined },
      h('td', { class: 'nowrap' }, timeEl(e.time)),
      h('td', {}, LABELS.eventTypes[e.type] ?? e.type),
      h('td', {}, stateCell(e.from ?? e.fromState, e.state, e.changed, e.statusCode, direction, true)),
      h('td', {}, e.statusCode ? statusText(e.statusCode) : ''),
      h('td', {}, e.actor),
      h('td', { class: 'cause' }, e.cause ?? '', detailItems(e.detail, true)),
    ),
  )
  return table('Dòng thời gian (cũ nhất trước)', ['Thời gian (giờ VN)', 'Sự kiện', 'Trạng thái', 'Mã trạng thái', 'Tác nhân', 'Nguyên nhân, chi tiết'], rows)
}
