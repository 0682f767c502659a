// A document's page: what it is (type, number, signer, agencies by name), its attachments (open or download with
// the session's credentials), the signature verdict, and the timeline: per recipient for an outgoing document, the
// package's own for an incoming one.
/* global document, window, setTimeout, URL */

import { api, ApiError, call } from '../api.js'
import { $, agencyCell, badge, clear, errorBox, facts, focusTitle, h, notify, techFold, timeEl } from '../dom.js'
import { etsiText, fmtDate, LABELS, reasonInfo, stateInfo, statusText, verdictInfo } from '../format.js'
import { timelineTable } from './events.js'

const REVOCATION = { good: 'Còn hiệu lực', revoked: 'Đã bị chấm dứt hiệu lực', unknown: 'Chưa xác định được' }

function verdictFacts(v) {
  if (!v || typeof v !== 'object' || Object.keys(v).length === 0) return null
  const signer = v.signer ?? {}
  const rev = v.revocation
  return [
    facts([
      ['Kết quả kiểm tra chữ ký', v.code ? badge(verdictInfo(v.code)) : v.ok === true ? badge(verdictInfo('VALID')) : ''],
      ['Kết luận theo ETSI EN 319 102-1', etsiText(v)],
      ['Chứng thư người ký', signer.subject],
      ['Mã định danh trong chứng thư', signer.organId],
      ['Tổ chức cấp chứng thư', signer.issuer],
      ['Thời điểm ký', v.signingTime ? timeEl(v.signingTime) : undefined],
      ['Tình trạng chứng thư (CRL/OCSP)', rev ? [REVOCATION[rev.status] ?? rev.status, rev.checkedAt ? [', kiểm tra lúc ', timeEl(rev.checkedAt)] : ''] : undefined],
    ]),
    techFold([
      ['verdict', v.code],
      ['message', v.message],
      ['certificate serial', signer.serial],
      ['revocation source', rev?.source],
      ['validation time', v.validationTime],
    ]),
  ]
}

const documentTypeText = (t) => (t ? [t.typeName, Number(t.type) === 2 ? ' (văn bản quy phạm pháp luật)' : ''].join('') : undefined)
const signerText = (s) => (s && (s.fullName || s.position) ? [s.competence, s.position, s.fullName].filter(Boolean).join(' ') : undefined)

/** Fetches a file with the session's credentials; opens it in a new tab or saves it. */
async function getFile(url, name, open) {
  try {
    const res = await call(url, { raw: true })
    const blob = await res.blob()
    const href = URL.createObjectURL(blob)
    if (open) {
      window.open(href, '_blank', 'noopener')
    } else {
      const tmp = h('a', { href, download: name, hidden: true })
      document.body.append(tmp)
      tmp.click()
      tmp.remove()
    }
    setTimeout(() => URL.revokeObjectURL(href), 60_000)
  } catch (e) {
    notify(`Không tải được tệp “${name}”${e.code ? ` (${e.code})` : ''}.`, 'err')
  }
}

function attachmentsTable(list) {
  if (!list?.length) return h('p', { class: 'muted' }, 'Không có tệp đính kèm.')
  return h(
    'ul',
    { class: 'attachments', 'aria-label': 'Tệp đính kèm' },
    list.map((a) =>
      h(
        'li',
        {},
        h('span', { class: 'file-name' }, a.name),
        h('span', { class: 'sub' }, [a.description, a.size !== undefined ? `${Number(a.size).toLocaleString('vi-VN')} byte` : ''].filter(Boolean).join(' · ')),
        a.mismatch ? badge({ text: 'Kiểu tệp khai báo không khớp nội dung', tone: 'warn', hint: a.declared?.manifest }) : null,
        a.url
          ? h(
              'span',
              { class: 'file-actions' },
              h('button', { type: 'button', class: 'small secondary', 'aria-label': `Mở: ${a.name}`, onclick: () => getFile(a.url, a.name, true) }, 'Mở'),
              ' ',
              h('button', { type: 'button', class: 'small secondary', 'aria-label': `Tải về: ${a.name}`, onclick: () => getFile(a.url, a.name, false) }, 'Tải về'),
            )
          : null,
        techFold([['content type', a.contentType], ['content id', a.contentId]]),
      ),
    ),
  )
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
        const doc = await api(`/v1/documents/${encodeURIComponent(id)}?content=true`)
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

/** A package stored while its signing token was unavailable: not sent until it is signed. */
function awaitingSignatureCard(w) {
  const T = LABELS.trust.health
  return h(
    'div',
    { class: 'card', role: 'status' },
    h('h2', { title: 'awaiting its signature (PKCS#11 token unavailable)' }, T.awaiting),
    badge({ text: T.awaiting, tone: 'warn' }),
    h('p', { class: 'muted' }, T.awaitingNote),
    facts([
      [T.since, timeEl(w.since)],
      [LABELS.detailKeys.failedAttempts, String(w.attempts ?? 0)],
    ]),
    techFold([
      ['reason', w.reason],
      ['last error', w.lastError],
      ['last attempt', w.lastAttemptAt],
    ]),
  )
}

function renderOutgoing(doc) {
  const body = $('doc-body')
  const title = $('doc-title')
  const m = doc.metadata ?? {}
  const hdr = doc.header ?? {}
  title.replaceChildren('Văn bản gửi đi', doc.subject ? h('span', { class: 'sub muted' }, `: ${doc.subject}`) : '')
  clear(body)
  const names = new Map((m.recipients ?? []).map((r) => [String(r.organId).toUpperCase(), r.name]))
  body.append(
    h(
      'div',
      { class: 'card' },
      facts([
        ['Trích yếu', doc.subject],
        ['Số/ký hiệu', doc.code],
        ['Loại văn bản', documentTypeText(hdr.documentType ?? m.documentType) ?? (doc.kind === 'status' ? 'Gói trạng thái' : undefined)],
        ['Người ký', signerText(hdr.signer)],
        ['Cơ quan gửi', agencyCell(doc.sender)],
        ['Ngày ban hành', doc.promulgationDate ? fmtDate(doc.promulgationDate) : undefined],
        ['Nhận từ DMS lúc', timeEl(doc.createdAt)],
        ['Mã văn bản', h('span', { class: 'mono' }, doc.documentId)],
      ]),
      techFold([
        ['package id', doc.id],
        ['kind', doc.kind],
        ['DMS client', doc.clientId],
        ['size', `${doc.size} bytes`],
        ['SHA-256', doc.sha256],
      ]),
    ),
    ...(doc.awaitingSignature ? [awaitingSignatureCard(doc.awaitingSignature)] : []),
    h('h2', {}, 'Tệp đính kèm'),
    h('div', { class: 'card' }, attachmentsTable(doc.attachments ?? m.attachments)),
    ...(doc.verdict ? [h('h2', {}, 'Chữ ký số của gói'), h('div', { class: 'card' }, verdictFacts(doc.verdict))] : []),
    h('h2', {}, `Nơi nhận (${doc.deliveries.length})`),
  )
  for (const d of doc.deliveries) {
    const reason = reasonInfo(d.reason)
    // a recipient routed through the national axis: its attempts and confirmation are the axis's, not the broker's
    const viaAxis = (d.timeline ?? []).some((e) => e.type === 'axis-attempt' || (e.state === 'queued' && e.detail?.via === 'axis'))
    const A = LABELS.axis?.health
    body.append(
      h(
        'section',
        { class: 'delivery card', 'aria-label': `Nơi nhận ${d.recipient}` },
        h(
          'div',
          { class: 'delivery-head' },
          h('h3', {}, names.get(d.recipient.toUpperCase()) ?? agencyCell(d.recipient), ' ', h('span', { class: 'code mono' }, d.recipient)),
          badge(stateInfo(d.state, 'out')),
          d.statusCode ? h('span', {}, `Mã trạng thái mới nhất: ${statusText(d.statusCode)}`) : null,
          h('span', { class: 'muted' }, `${viaAxis && A ? A.attempts : 'Số lần phát lên mạng liên thông lienthong'}: ${d.attempts}`),
          d.queuedAt ? h('span', { class: 'muted' }, viaAxis && A ? `${A.confirmedAt} ` : 'Mạng liên thông xác nhận lúc ', timeEl(d.queuedAt)) : null,
        ),
        reason ? h('p', { class: 'error' }, `Lý do: ${reason.text}`, techFold([['reason', d.reason]])) : null,
        timelineTable(d.timeline ?? [], 'out'),
      ),
    )
  }
}

async function renderIncoming(id) {
  const body = $('doc-body')
  const title = $('doc-title')
  const s = await api(`/v1/inbox/${encodeURIComponent(id)}`)
  const hdr = s.header ?? {}
  title.replaceChildren('Văn bản nhận về', s.subject ? h('span', { class: 'sub muted' }, `: ${s.subject}`) : '')
  clear(body)
  const reason = reasonInfo(s.reason)
  body.append(
    h(
      'div',
      { class: 'card' },
      facts([
        ['Trạng thái', s.state ? badge(stateInfo(s.state, 'in')) : ''],
        ['Trích yếu', s.subject],
        ['Số/ký hiệu', s.code],
        ['Loại văn bản', documentTypeText(hdr.documentType) ?? (s.kind === 'status' ? 'Gói trạng thái' : undefined)],
        ['Người ký', signerText(hdr.signer)],
        ['Cơ quan gửi', hdr.from?.name ? [hdr.from.name, ' ', h('span', { class: 'code mono' }, s.sender)] : agencyCell(s.sender)],
        ['Cơ quan nhận', agencyCell(s.recipient)],
        ['Ngày ban hành', s.promulgationDate ? fmtDate(s.promulgationDate) : undefined],
        ['Nhận lúc', timeEl(s.receivedAt)],
        ['Mã văn bản', s.documentId ? h('span', { class: 'mono' }, s.documentId) : undefined],
        [s.state === 'rejected' ? 'Lý do từ chối' : 'Lý do từ chối trước đây', reason?.text],
      ]),
      techFold([
        ['package id', s.id],
        ['kind', s.kind],
        ['reason', s.reason],
        ['size', s.size !== undefined ? `${s.size} bytes` : undefined],
        ['SHA-256', s.sha256],
        ...(s.warnings ?? []).map((w) => [`warning ${w.code}`, w.message]),
      ]),
    ),
    h('h2', {}, 'Tệp đính kèm'),
    h('div', { class: 'card' }, attachmentsTable(s.attachments)),
  )
  const vf = verdictFacts(s.verdict)
  if (vf) body.append(h('h2', {}, 'Kết quả kiểm tra chữ ký khi nhận'), h('div', { class: 'card' }, vf))
  const timeline = s.timeline ?? []
  const recheck = [...timeline].reverse().find((e) => e.type === 'replayed' || e.type === 'replay-failed')
  if (recheck && typeof recheck.detail?.verdict === 'string') {
    body.append(
      h('h2', {}, 'Kiểm tra lại khi vận hành gửi lại'),
      h(
        'div',
        { class: 'card' },
        facts([
          ['Kết quả', badge(verdictInfo(recheck.detail.verdict))],
          ['Chứng thư người ký', recheck.detail.signer],
          ['Lúc', timeEl(recheck.time)],
          ['Vận hành viên', String(recheck.actor ?? '').replace(/^operator:/, '')],
          ['Ghi chú', recheck.detail.note],
        ]),
        techFold([['message', recheck.detail.verdictMessage]]),
      ),
    )
  }
  body.append(h('h2', {}, 'Dòng thời gian'), timelineTable(timeline, 'in'))
}
