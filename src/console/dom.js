// DOM helpers of the console. Every value from the API reaches the page as a text node or an attribute value
// (never as HTML): `h` is the only way elements are made.
/* global document, Node, setTimeout, clearTimeout */

import { ApiError } from './api.js'
import { agencyName, errorInfo, fmtTime } from './format.js'

/** Element builder: attributes as properties/attributes, children as nodes or text (never parsed as HTML). */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue
    if (k === 'class') el.className = v
    else if (k === 'text') el.textContent = v
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v)
    else el.setAttribute(k, v === true ? '' : String(v))
  }
  append(el, children)
  return el
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue
    el.append(c instanceof Node ? c : document.createTextNode(String(c)))
  }
  return el
}

export const $ = (id) => document.getElementById(id)

export const clear = (el) => el.replaceChildren()

export const badge = ({ text, tone, hint }) => h('span', { class: `badge ${tone}`, title: hint }, text)

/** A term's English name, shown only on hover (the page stays Vietnamese). */
export const en = (text) => h('abbr', { lang: 'en', title: text, class: 'en-hint', 'aria-label': text }, 'ⓘ')

/**
 * The "chi tiết kỹ thuật" fold: the gateway's own (English) words, codes and identifiers, closed by default.
 * `items` are [label, value] pairs; empty values are left out, and no fold is made when nothing is left.
 */
export function techFold(items) {
  const rows = items.filter(([, v]) => v !== undefined && v !== null && v !== '')
  if (!rows.length) return null
  return h(
    'details',
    { class: 'tech' },
    h('summary', {}, 'chi tiết kỹ thuật'),
    h('dl', { lang: 'en' }, rows.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
  )
}

/** An agency by name with its code beside it (the code alone when the directory does not know it). */
export function agencyCell(organId) {
  if (!organId) return ''
  const name = agencyName(organId)
  return name ? h('span', { class: 'agency' }, name, ' ', h('span', { class: 'code mono' }, organId)) : h('span', { class: 'mono' }, organId)
}

export const timeEl = (iso) => h('time', { datetime: iso }, fmtTime(iso))

export function table(caption, headers, rows) {
  return tableOf({}, caption, headers, h('tbody', {}, rows))
}

/** A captioned table in its scrolling wrapper; `tbody` is kept by the caller when rows are added page by page. */
export function tableOf(attrs, caption, headers, tbody) {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      attrs,
      h('caption', {}, caption),
      h('thead', {}, h('tr', {}, headers.map((x) => h('th', { scope: 'col', class: x.cls }, x.text ?? x)))),
      tbody,
    ),
  )
}

export function facts(pairs) {
  return h(
    'dl',
    { class: 'facts' },
    pairs.filter(([, v]) => v !== undefined && v !== null && v !== '').map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]),
  )
}

/** An API error in Vietnamese: the catalogue code's label and code, what to do; the gateway's message in the fold. */
export function errorBox(e) {
  const msg = e instanceof ApiError ? e.message : String(e?.message ?? e)
  const info = e?.code ? errorInfo(e.code) : undefined
  if (!info) {
    return h('div', { class: 'error', role: 'alert' }, e?.code === 'NETWORK' ? msg : `Không thực hiện được (${e?.status ? `HTTP ${e.status}` : 'lỗi'}).`, e?.code === 'NETWORK' ? null : techFold([['message', msg], ['code', e?.code]]))
  }
  return h(
    'div',
    { class: 'error', role: 'alert' },
    h('p', {}, info.label, ' ', h('code', {}, e.code)),
    info.solve ? h('p', { class: 'sub' }, `Cách khắc phục: ${info.solve}`) : null,
    techFold([['message', msg], ['how to solve', info.solveEn], ['HTTP', e.status ? String(e.status) : undefined]]),
  )
}

export function notify(text, tone = 'ok') {
  const n = $('notice')
  n.className = `notice ${tone}`
  n.textContent = text
  n.hidden = false
  clearTimeout(notify.t)
  notify.t = setTimeout(() => (n.hidden = true), 8000)
}

export function focusTitle(id) {
  const el = $(id)
  if (el && document.activeElement?.tagName !== 'INPUT' && document.activeElement?.tagName !== 'SELECT') el.focus({ preventScroll: false })
}
