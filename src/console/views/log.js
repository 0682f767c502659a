// The delivery log screen: filters in the address (#/log?…), cursor pages, the CSV export with the key.
/* global document, location, setTimeout, URL, URLSearchParams */

import { api, call } from '../api.js'
import { $, agencyCell, clear, errorBox, h, notify, tableOf, timeEl } from '../dom.js'
import { actorText, LABELS, stateInfo } from '../format.js'
import { causeCell, stateCell, statusOrigin } from './events.js'

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
  group('Gửi đi', LABELS.states.out, 'out')
  group('Nhận về', LABELS.states.in, 'in')
}

/** datetime-local (Vietnam time) ⇄ ISO with +07:00. */
const localToIso = (v) => (v ? `${v.length === 16 ? `${v}:00` : v}+07:00` : '')

function isoToLocal(iso) {
  if (!iso) return ''
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return ''
  return new Date(d.getTime() + 7 * 3600_000).toISOString().slice(0, 19)
}

export function fillFilters(params) {
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

function logRow(e) {
  return h(
    'tr',
    { class: e.changed === false ? 'unchanged' : undefined, 'data-seq': e.seq },
    h('td', { class: 'num' }, e.seq),
    h('td', { class: 'nowrap' }, timeEl(e.time)),
    h(
      'td',
      {},
      h('span', { class: `dir ${e.direction}` }, LABELS.directions[e.direction] ?? e.direction),
      h('span', { class: 'sub', title: e.type }, LABELS.eventTypes[e.type] ?? e.type),
    ),
    h('td', {}, stateCell(e.fromState, e.state, e.changed, e.statusCode, e.direction, false, e.detail?.via), statusOrigin(e)),
    h('td', {}, agencyCell(e.sender), e.recipient ? h('span', { class: 'sub' }, '→ ', agencyCell(e.recipient)) : null),
    h('td', { class: 'mono doc' }, docLink(e, e.documentId ?? e.packageId ?? '')),
    h('td', {}, actorText(e.actor)),
    h('td', { class: 'cause' }, causeCell(e)),
  )
}

const LOG_HEADERS = ['#', 'Thời gian (giờ VN)', 'Chiều, sự kiện', 'Trạng thái', 'Gửi → Nhận', 'Mã văn bản', 'Người thực hiện', 'Nguyên nhân, chi tiết']

export async function renderLog(params) {
  const out = $('log-results')
  clear(out)
  $('log-export').href = `/v1/log/export.csv?${logQuery(params).toString()}`
  const rows = h('tbody')
  const status = h('p', { class: 'muted', role: 'status' }, 'Đang tải…')
  out.append(status)
  let count = 0
  let cursor
  const moreBtn = h('button', { type: 'button', class: 'secondary', id: 'log-more' }, 'Xem thêm')
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

/** Wires the filter form and the export link; `route` shows the screen the address names. */
export function initLog(route) {
  fillStateOptions()
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
}
