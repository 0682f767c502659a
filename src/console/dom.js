// DOM helpers of the console. Every value from the API reaches the page as a text node or an attribute value
// (never as HTML): `h` is the only way elements are made.
/* global document, Node, setTimeout, clearTimeout */

import { ApiError } from './api.js'
import { fmtTime } from './format.js'

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

export const en = (text) => h('span', { lang: 'en', class: 'muted' }, ` (${text})`)

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

export function errorBox(e) {
  const msg = e instanceof ApiError ? e.message : String(e?.message ?? e)
  return h('p', { class: 'error', role: 'alert' }, msg, e?.code && e.code !== 'NETWORK' ? h('code', {}, ` ${e.code}`) : null)
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
