// The gateway's health: store, broker, queue depths, certificate expiry, the log's hash chain check; the trust
// watch (the days left of own certificates, anchors, intermediates and CRLs, warned at 30/7/1 days) and the PKCS#11
// signing tokens with the packages awaiting their signature while one is down; the national
// axis connector (reachable or not, last poll, last error, deliveries waiting for the axis) and the DMSs that call
// this gateway with the VXP protocol (their agencies, their last call), when configured.

import { api } from '../api.js'
import { $, agencyCell, badge, clear, errorBox, facts, h, table, techFold, timeEl } from '../dom.js'
import { errorInfo, LABELS, stateInfo } from '../format.js'

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

/** The axis connector: a card per fact, the last error in Vietnamese with the gateway's message in the fold. */
function axisSection(a) {
  const T = LABELS.axis.health
  const stateText = LABELS.axis?.states[a.state] ?? a.state
  const err = a.lastError ? errorInfo(a.lastError.code) : undefined
  return [
    h('h2', { title: 'national axis connector (vxp.axis)' }, T.title),
    h(
      'div',
      { class: 'grid' },
      h(
        'div',
        { class: 'card', id: 'axis-state' },
        h('h2', {}, T.connection),
        badge({ text: stateText, tone: a.ok ? 'ok' : 'err', hint: a.state }),
        h('p', { class: 'muted' }, a.ok ? T.up : T.down),
      ),
      h('div', { class: 'card', id: 'axis-backlog' }, h('h2', {}, T.backlog), h('p', { class: 'stat' }, a.backlog), h('p', { class: 'muted' }, T.backlogNote)),
      h('div', { class: 'card' }, h('h2', {}, 'Từ khi cổng khởi động'), facts([[T.sent, String(a.sent)], [T.received, String(a.received)], ['Lần gửi không thành', String(a.failedAttempts)]])),
    ),
    facts([
      [T.endpoint, h('span', { class: 'mono' }, a.endpoint)],
      [T.systemId, h('span', { class: 'mono' }, a.systemId)],
      [T.organIds, a.organIds?.length ? a.organIds.map((o, i) => [i ? ', ' : '', agencyCell(o)]) : undefined],
      [T.lastPoll, a.lastPollAt ? timeEl(a.lastPollAt) : 'chưa lấy được lần nào'],
      [T.lastSent, a.lastSentAt ? timeEl(a.lastSentAt) : 'chưa gửi'],
      ['Chu kỳ lấy văn bản', a.pollIntervalMs ? (a.pollIntervalMs < 10_000 ? `${a.pollIntervalMs} ms` : `${Math.round(a.pollIntervalMs / 1000)} giây`) : undefined],
      [
        'Lỗi gần nhất',
        a.lastError
          ? [a.lastError.at ? [timeEl(a.lastError.at), ' '] : '', badge({ text: err?.text ?? a.lastError.code, tone: 'err' }), err?.solve ? h('span', { class: 'sub' }, `Cách khắc phục: ${err.solve}`) : null, techFold([['message', a.lastError.message], ['state', a.state]])]
          : 'không có',
      ],
    ]),
  ]
}

/** The DMSs that call this gateway with the VXP protocol (vxp.server.systems): agencies and last call. */
function vxpSystemsSection(list) {
  return [
    h('h2', { title: 'VXP endpoint (vxp.server.systems)' }, 'Hệ thống DMS kết nối qua giao thức VXP'),
    table(
      'Các hệ thống quản lý văn bản dùng SDK VXP gọi tới cổng này: cơ quan của từng hệ thống và lần gọi gần nhất (tính từ khi cổng khởi động)',
      ['Mã hệ thống', 'Cơ quan', 'Lần gọi gần nhất', 'Kết quả', { text: 'Số lần gọi', cls: 'num' }, { text: 'Bị từ chối', cls: 'num' }],
      list.map((s) => {
        const err = s.lastErrorCode && s.lastErrorCode !== '0' ? errorInfo(s.lastErrorCode) : undefined
        return h(
          'tr',
          {},
          h('td', { class: 'mono' }, s.systemId),
          h('td', {}, s.agencies.map((a, i) => [i ? h('br') : '', a.name ? [a.name, ' ', h('span', { class: 'code mono' }, a.organId)] : agencyCell(a.organId)])),
          h('td', { class: 'nowrap' }, s.lastCallAt ? [timeEl(s.lastCallAt), h('span', { class: 'sub mono' }, s.lastOperation ?? '')] : 'chưa gọi'),
          h('td', {}, s.lastErrorCode === undefined ? '—' : s.lastErrorCode === '0' ? badge({ text: 'Thành công', tone: 'ok' }) : badge({ text: err?.text ?? s.lastErrorCode, tone: 'err' })),
          h('td', { class: 'num' }, s.calls),
          h('td', { class: 'num' }, s.failures > 0 ? badge({ text: String(s.failures), tone: 'warn' }) : '0'),
        )
      }),
    ),
  ]
}

const LEVEL_TONE = { ok: 'ok', 'days-30': 'warn', 'days-7': 'warn', 'days-1': 'err', expired: 'err' }

/** Days left as the operator reads them: whole days, hours on the last day, how long ago once passed. */
function daysText(d) {
  if (d <= 0) return `quá hạn ${Math.floor(-d)} ngày`
  if (d < 1) return `còn ${Math.max(1, Math.floor(d * 24))} giờ`
  return `còn ${Math.floor(d)} ngày`
}

/** The trust watch: what expires (own certificates, anchors, intermediates, CRLs), the worst first. */
function trustSection(tr) {
  const T = LABELS.trust.health
  const items = [...tr.items].sort((a, b) => a.daysLeft - b.daysLeft)
  const warn = items.filter((i) => i.level !== 'ok')
  return [
    h('h2', { id: 'trust-expiry', title: 'trust watch: certificate and CRL expiry' }, T.title),
    warn.length
      ? h(
          'div',
          { class: 'card', id: 'trust-warnings', role: 'alert' },
          h('h2', {}, `${T.warnings}: ${warn.length}`),
          h('ul', {}, warn.map((i) => h('li', {}, badge({ text: LABELS.trust.levels[i.level] ?? i.level, tone: LEVEL_TONE[i.level] ?? 'warn', hint: i.level }), ' ', LABELS.trust.kinds[i.kind] ?? i.kind, i.agency ? [' ', agencyCell(i.agency)] : '', ': ', i.subject, ` (${daysText(i.daysLeft)})`, i.needed ? h('span', { class: 'sub' }, T.needed) : null))),
        )
      : h('p', { class: 'muted', id: 'trust-warnings' }, T.none),
    tr.problems?.length ? h('p', { class: 'result err' }, T.problems, techFold(tr.problems.map((p, i) => [`#${i + 1}`, p]))) : null,
    table(
      T.caption,
      ['Loại', 'Chủ thể', 'Hết hạn / hạn cập nhật', { text: 'Còn lại', cls: 'num' }],
      items.map((i) =>
        h(
          'tr',
          {},
          h('td', {}, LABELS.trust.kinds[i.kind] ?? i.kind, i.agency ? h('span', { class: 'sub' }, agencyCell(i.agency)) : null),
          h('td', {}, i.subject, h('span', { class: 'sub mono' }, i.fingerprint), i.source ? techFold([['source', i.source], ['issuer', i.issuer], ['serial', i.serial]]) : null),
          h('td', { class: 'nowrap' }, timeEl(i.expiresAt)),
          h('td', { class: 'num' }, badge({ text: i.level === 'ok' ? daysText(i.daysLeft) : `${LABELS.trust.levels[i.level] ?? i.level}: ${daysText(i.daysLeft)}`, tone: LEVEL_TONE[i.level] ?? 'warn', hint: i.level })),
        ),
      ),
    ),
  ]
}

/** The PKCS#11 tokens that hold signing keys: usable or not, since when. */
function tokensSection(tokens) {
  const T = LABELS.trust.health
  return [
    h('h2', { id: 'signing-tokens', title: 'PKCS#11 signing tokens' }, T.tokens),
    h(
      'div',
      { class: 'grid' },
      tokens.map((k) =>
        h(
          'div',
          { class: 'card' },
          h('h2', {}, k.name ? [k.name, ' ', h('span', { class: 'code mono' }, k.organId)] : agencyCell(k.organId)),
          okBadge(k.ok, T.tokenUp, 'Không dùng được'),
          k.ok ? null : h('p', { class: 'muted' }, T.tokenDown),
          facts([[T.since, timeEl(k.since)], [T.signatures, String(k.signatures ?? '—')], [T.reopens, String(k.reopens ?? '—')]]),
          k.detail ? techFold([['detail', k.detail]]) : null,
        ),
      ),
    ),
  ]
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
      hh.tokens?.length || st.awaitingSignature
        ? h(
            'div',
            { class: 'card', id: 'awaiting-signature' },
            h('h2', { title: 'packages awaiting their signature (PKCS#11 token unavailable)' }, LABELS.trust.health.awaiting),
            h('p', { class: 'stat' }, st.awaitingSignature ?? '—'),
            h('p', { class: 'muted' }, LABELS.trust.health.awaitingNote),
          )
        : null,
      h('div', { class: 'card' }, h('h2', {}, 'Nhật ký'), h('p', { class: 'stat' }, st.events ?? '—'), h('p', { class: 'muted' }, 'dòng trong chuỗi băm'), verifyBtn, verifyOut),
    ),
    ...(hh.tokens?.length ? tokensSection(hh.tokens) : []),
    ...(hh.trust ? trustSection(hh.trust) : []),
    ...(hh.axis ? axisSection(hh.axis) : []),
    ...(hh.vxpSystems ? vxpSystemsSection(hh.vxpSystems) : []),
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
