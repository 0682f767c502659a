// A document's page: an outgoing document with the timeline of each recipient, or an incoming package with its verdict.

import { api, ApiError } from '../api.js'
import { $, badge, clear, en, errorBox, facts, focusTitle, h, timeEl } from '../dom.js'
import { stateInfo, statusText, verdictInfo } from '../format.js'
import { timelineTable } from './events.js'

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

export async function renderDoc(id, dir) {
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
