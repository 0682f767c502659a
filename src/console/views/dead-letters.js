// Rejected incoming packages and failed outgoing deliveries: replay or discard, each confirmed in a dialog.
/* global document, HTMLElement */

import { api, can } from '../api.js'
import { $, agencyCell, badge, clear, errorBox, h, tableOf, techFold, timeEl } from '../dom.js'
import { agencyText, reasonInfo, stateInfo, verdictInfo } from '../format.js'

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

/** What to do about a rejection whose code is in the error catalogue (its Vietnamese "cách khắc phục"). */
function solveLine(code) {
  const { solve } = verdictInfo(code)
  return solve ? h('span', { class: 'sub' }, `Cách khắc phục: ${solve}`) : null
}

/** Why a dead letter is here, in Vietnamese; the gateway's English reason and how-to in the fold. */
function causeCellOf(x, incoming) {
  const code = x.verdictCode ?? /^((?:GW_ERR_)?[A-Z][A-Z0-9_]+):/.exec(x.reason ?? '')?.[1]
  const info = code ? verdictInfo(code) : undefined
  const reason = reasonInfo(x.reason)
  return [
    info ? badge(info) : reason ? h('span', {}, reason.text) : null,
    code ? solveLine(code) : null,
    !incoming && x.attempts !== undefined ? h('span', { class: 'sub' }, `Số lần phát lên mạng liên thông: ${x.attempts}`) : null,
    techFold([
      ['reason', x.reason],
      ['verdict', x.verdict?.message],
      ['how to solve', info?.solveEn],
    ]),
  ]
}

async function act(x, action) {
  const label = deadLabel(x)
  const replay = action === 'replay'
  const { ok, note } = await confirmDialog({
    title: replay ? 'Gửi lại gói này?' : 'Hủy bỏ gói này?',
    text: replay
      ? x.kind === 'incoming'
        ? `Gói “${label}” từ ${agencyText(x.sender) || '?'} sẽ được kiểm tra lại chữ ký với danh sách tin cậy hiện tại; nếu hợp lệ sẽ vào hộp thư của ${agencyText(x.recipient) || '?'} và gửi trạng thái 01. Việc này được ghi vào nhật ký với tên vận hành của bạn.`
        : `Nơi nhận ${agencyText(x.recipient)} của “${label}” sẽ được đưa lại vào hàng chờ gửi và phát lên mạng liên thông lienthong lần nữa. Việc này được ghi vào nhật ký với tên vận hành của bạn.`
      : `Gói “${label}” sẽ bị hủy bỏ và rời khỏi danh sách. Việc này được ghi vào nhật ký với tên vận hành của bạn.`,
    okText: replay ? 'Gửi lại' : 'Hủy bỏ',
    withNote: true,
  })
  if (!ok) return
  const result = $('dead-result')
  result.className = 'result'
  result.textContent = 'Đang thực hiện…'
  try {
    const r = await api(`/v1/operator/dead-letters/${encodeURIComponent(x.id)}/${action}`, { method: 'POST', body: note ? { note } : {} })
    const st = stateInfo(r.state, r.kind === 'incoming' ? 'in' : 'out').text
    if (r.outcome === 'still-rejected') {
      result.className = 'result err'
      result.textContent = `Gửi lại không thành: “${label}” vẫn bị từ chối — ${verdictInfo(r.verdictCode).text}. Ghi nhật ký #${r.seq}.`
    } else if (r.outcome === 'discarded') {
      result.textContent = `Đã hủy bỏ “${label}” (trạng thái: ${st}). Ghi nhật ký #${r.seq}.`
    } else {
      result.textContent = `Đã gửi lại “${label}”: trạng thái mới ${st}${r.verdictCode ? `, ${verdictInfo(r.verdictCode).text}` : ''}. Ghi nhật ký #${r.seq}.${r.reason ? ` Lưu ý: ${reasonInfo(r.reason)?.text}.` : ''}`
    }
  } catch (e) {
    result.className = 'result err'
    result.textContent = `Không thực hiện được: ${e.code ? (verdictInfo(e.code).text ?? e.code) : e.status ? `HTTP ${e.status}` : 'lỗi mạng'}.`
    if (e.status === 401) return
  }
  await renderDeadLetters({ keepResult: true })
  // the row (and its button) is gone: keyboard focus goes to the result
  result.focus()
}

export async function renderDeadLetters({ keepResult = false } = {}) {
  const body = $('dead-body')
  if (!keepResult) $('dead-result').textContent = ''
  clear(body)
  const status = h('p', { class: 'muted', role: 'status' }, 'Đang tải…')
  const rows = h('tbody')
  const moreBtn = h('button', { type: 'button', class: 'secondary' }, 'Xem thêm')
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
      const mayAct = can('operator')
      rows.append(
        h(
          'tr',
          { 'data-id': x.id },
          h('td', {}, badge(incoming ? { text: 'Nhận về bị từ chối', tone: 'err' } : { text: 'Gửi đi bị lỗi', tone: 'warn' })),
          h('td', { class: 'nowrap' }, timeEl(x.time)),
          h('td', {}, agencyCell(x.sender) || '?', h('span', { class: 'sub' }, '→ ', agencyCell(x.recipient) || '?')),
          h(
            'td',
            {},
            h('a', { href: `#/doc/${encodeURIComponent(x.packageId)}?dir=${incoming ? 'in' : 'out'}` }, label),
            x.code && x.code !== label ? h('span', { class: 'sub' }, `Số/ký hiệu ${x.code}`) : null,
            x.documentId ? h('span', { class: 'sub mono' }, x.documentId) : null,
          ),
          h('td', { class: 'cause' }, causeCellOf(x, incoming)),
          h(
            'td',
            { class: 'nowrap' },
            mayAct
              ? [
                  h('button', { type: 'button', class: 'small', 'aria-label': `Gửi lại: ${label}`, disabled: !canReplay, onclick: () => act(x, 'replay') }, 'Gửi lại'),
                  ' ',
                  h('button', { type: 'button', class: 'small danger', 'aria-label': `Hủy bỏ: ${label}`, onclick: () => act(x, 'discard') }, 'Hủy bỏ'),
                ]
              : h('span', { class: 'muted' }, 'Vai trò chỉ xem'),
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
