// The login screen: the operator key is checked with one call to the log before it is kept for the session.
/* global document, location */

import { call, setKey } from '../api.js'
import { $ } from '../dom.js'

export function showLogin(message) {
  $('nav').hidden = true
  for (const v of document.querySelectorAll('.view')) v.hidden = v.id !== 'view-login'
  const err = $('login-error')
  err.hidden = !message
  err.textContent = message ?? ''
  $('login-key').setAttribute('aria-invalid', message ? 'true' : 'false')
  $('login-key').focus()
}

async function onLogin(ev) {
  ev.preventDefault()
  const input = $('login-key')
  const key = input.value.trim()
  const err = $('login-error')
  const fail = (text) => {
    err.textContent = text
    err.hidden = false
    input.setAttribute('aria-invalid', 'true')
    input.select()
    input.focus()
  }
  if (!key) return fail('Hãy nhập khóa vận hành.')
  const button = ev.target.querySelector('button[type=submit]')
  button.disabled = true
  try {
    await call('/v1/log?limit=1', { key })
  } catch (e) {
    button.disabled = false
    if (e.status === 401) return fail('Khóa không đúng: cổng không nhận ra khóa này (GW_ERR_API_UNAUTHORIZED).')
    if (e.status === 403) return fail('Đây là khóa của hệ thống quản lý văn bản (DMS), không phải khóa vận hành (GW_ERR_API_FORBIDDEN).')
    if (e.status === 429) return fail('Quá nhiều lần thử, hãy chờ một phút (GW_ERR_API_RATE_LIMITED).')
    return fail(e.message)
  }
  button.disabled = false
  setKey(key)
  input.value = ''
  err.hidden = true
  input.setAttribute('aria-invalid', 'false')
  if (!location.hash || location.hash === '#/login') location.hash = '#/log'
  else loggedIn()
}

let loggedIn = () => {}

/** Wires the form; `onLoggedIn` runs after a good key when the address already names a screen. */
export function initLogin(onLoggedIn) {
  loggedIn = onLoggedIn
  $('login-form').addEventListener('submit', onLogin)
}
