// The gateway's health: store, broker, queue depths, certificate expiry, the log's hash chain check.

import { api } from '../api.js'
import { $, agencyCell, badge, clear, errorBox, h, table, techFold, timeEl } from '../dom.js'
import { stateInfo } from '../format.js'

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

export async function renderHealth() {
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
          : h('p', { class: 'result err' }, `Chuỗi bị phá vỡ tại dòng #${r.firstBroken?.seq}. Đã kiểm tra ${r.checked} dòng khớp trước đó.`, techFold([['reason', r.firstBroken?.reason]])),
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
      h('div', { class: 'card' }, h('h2', {}, 'Cổng'), okBadge(hh.status === 'ok', 'Hoạt động bình thường', 'Suy giảm')),
      h('div', { class: 'card' }, h('h2', { title: 'AMQP broker' }, 'Mạng liên thông lienthong'), okBadge(hh.broker.ok, 'Đã kết nối', 'Mất kết nối'), techFold([['state', hh.broker.state], ['url', hh.broker.url]])),
      h('div', { class: 'card' }, h('h2', { title: 'store' }, 'Cơ sở dữ liệu'), okBadge(st.ok, 'Trả lời bình thường', 'Không trả lời'), techFold([['detail', st.detail]])),
      h('div', { class: 'card' }, h('h2', {}, 'Chờ phát lên mạng liên thông'), h('p', { class: 'stat' }, st.outboxBacklog ?? '—'), h('p', { class: 'muted' }, 'nơi nhận đã nhận từ DMS, mạng liên thông lienthong chưa xác nhận')),
      h('div', { class: 'card' }, h('h2', {}, 'Nhật ký'), h('p', { class: 'stat' }, st.events ?? '—'), h('p', { class: 'muted' }, 'dòng trong chuỗi băm'), verifyBtn, verifyOut),
    ),
    h('h2', { title: 'queue depths' }, 'Hàng đợi trên mạng liên thông lienthong'),
    table(
      'Số thông điệp đang chờ trong hàng đợi nhận và hàng đợi thư lỗi của từng cơ quan',
      ['Cơ quan', 'Hàng đợi nhận', { text: 'Đang chờ', cls: 'num' }, 'Hàng đợi thư lỗi', { text: 'Đang chờ', cls: 'num' }, 'Ghi chú'],
      hh.queues.map((q) =>
        h(
          'tr',
          {},
          h('td', {}, q.name ? [q.name, ' ', h('span', { class: 'code mono' }, q.organId)] : agencyCell(q.organId)),
          h('td', { class: 'mono' }, q.inbox),
          h('td', { class: 'num' }, q.inboxMessages ?? '—'),
          h('td', { class: 'mono' }, q.deadLetter),
          h('td', { class: 'num' }, q.deadLetterMessages !== undefined ? (q.deadLetterMessages > 0 ? badge({ text: String(q.deadLetterMessages), tone: 'err' }) : '0') : '—'),
          h('td', {}, q.error ? ['Không đọc được hàng đợi', techFold([['error', q.error]])] : ''),
        ),
      ),
    ),
    h('h2', { title: 'certificate expiry' }, 'Chứng thư ký của các cơ quan'),
    table(
      'Chứng thư số dùng để ký gói tin của từng cơ quan do cổng phục vụ',
      ['Cơ quan', 'Chủ thể', 'Hiệu lực đến', { text: 'Còn lại', cls: 'num' }],
      hh.certificates.map((c) =>
        h(
          'tr',
          {},
          h('td', {}, c.name ? [c.name, ' ', h('span', { class: 'code mono' }, c.organId)] : agencyCell(c.organId)),
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
