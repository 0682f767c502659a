// Rejected incoming packages and failed outgoing deliveries: replay or discard, each confirmed in a dialog.
/* global document, HTMLElement */

import { api } from '../api.js'
import { $, badge, clear, errorBox, h, tableOf, timeEl } from '../dom.js'
import { stateInfo, verdictInfo } from '../format.js'

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

/** What to do about a rejection whose code is in the error catalogue (its "how to solve" line). */
function solveLine(code) {
  const { solve } = verdictInfo(code)
  return solve ? h('span', { class: 'sub' }, `Cách khắc phục: ${solve}`) : null
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

export async function renderDeadLetters({ keepResult = false } = {}) {
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
            x.verdictCode ? solveLine(x.verdictCode) : null,
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
