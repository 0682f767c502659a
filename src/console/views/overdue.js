// Deliveries whose recipient has not answered 01 by the due time.

import { api } from '../api.js'
import { $, agencyCell, badge, clear, errorBox, h, tableOf, techFold, timeEl } from '../dom.js'
import { fmtMinutes, fmtTime } from '../format.js'

export async function renderOverdue() {
  const body = $('overdue-body')
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
      page = await api(`/v1/operator/overdue?limit=50${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)
    } catch (e) {
      status.replaceWith(errorBox(e))
      return
    }
    policy.replaceChildren(`Quy định về hạn: ${page.policyLabel ?? page.policy}. Tính đến ${fmtTime(page.now)}.`, techFold([['policy', page.policy]]) ?? '')
    for (const x of page.items) {
      rows.append(
        h(
          'tr',
          {},
          h('td', {}, agencyCell(x.sender), h('span', { class: 'sub' }, '→ ', agencyCell(x.recipient))),
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
  const policy = h('div', { class: 'muted policy' })
  moreBtn.addEventListener('click', load)
  body.append(
    policy,
    status,
    tableOf(
      { id: 'overdue-table' },
      'Nơi nhận đã được mạng liên thông lienthong chuyển gói nhưng chưa gửi trạng thái 01 trước hạn',
      ['Gửi → Nhận', 'Văn bản', 'Mã văn bản', 'Mạng liên thông xác nhận lúc', 'Hạn báo đã đến', 'Quá hạn'],
      rows,
    ),
    h('div', { class: 'more' }, moreBtn),
  )
  await load()
}
