// The login screen: a personal account (name + password → a session token, POST /v1/operator/login), or an
// operator API key checked with one call to the log. Either is kept for the browser session only.
/* global document, location */

import { call, setKey } from '../api.js'
import { $ } from '../dom.js'
import { errorInfo } from '../format.js'

export function showLogin(message) {
  $('nav').hidden = true
  for (const v of document.querySelectorAll('.view')) v.hidden = v.id !== 'view-login'
  const err = $('login-error')
  err.hidden = !message
  err.textContent = message ?? ''
  for (const id of ['login-id', 'login-password', 'login-key']) $(id).setAttribute('aria-invalid', message ? 'true' : 'false')
  ;($('login-key-fold').open ? $('login-key') : $('login-id').value ? $('login-password') : $('login-id')).focus()
}

function failer(input) {
  const err = $('login-error')
  return (text) => {
    err.textContent = text
    err.hidden = false
    input.setAttribute('aria-invalid', 'true')
    input.select()
    input.focus()
  }
}

/** The Vietnamese text of a refused login, with the code. */
function refusal(e) {
  if (e.status === 429) return 'Quá nhiều lần thử, hãy chờ một phút (GW_ERR_API_RATE_LIMITED).'
  const info = e.code ? errorInfo(e.code) : undefined
  if (e.code === 'GW_ERR_API_ACCOUNT_LOCKED') return `${info.label}; hãy chờ khoảng 15 phút hoặc đề nghị quản trị viên mở khóa (${e.code}).`
  return info ? `${info.label} (${e.code}).` : 'Không đăng nhập được.'
}

function done() {
  for (const id of ['login-id', 'login-password', 'login-key']) {
    $(id).value = id === 'login-id' ? $(id).value : ''
    $(id).setAttribute('aria-invalid', 'false')
  }
  $('login-error').hidden = true
  if (!location.hash || location.hash === '#/login') location.hash = '#/log'
  else loggedIn()
}

async function onLogin(ev) {
  ev.preventDefault()
  const id = $('login-id').value.trim()
  const password = $('login-password').value
  if (!id) return failer($('login-id'))('Hãy nhập tên đăng nhập.')
  if (!password) return failer($('login-password'))('Hãy nhập mật khẩu.')
  const button = ev.target.querySelector('button[type=submit]')
  button.disabled = true
  try {
    const r = await call('/v1/operator/login', { method: 'POST', body: { id, password }, key: '' })
    setKey(r.token)
  } catch (e) {
    return failer($('login-password'))(refusal(e))
  } finally {
    button.disabled = false
  }
  done()
}

async function onKeyLogin(ev) {
  ev.preventDefault()
  const input = $('login-key')
  const key = input.value.trim()
  const fail = failer(input)
  if (!key) return fail('Hãy nhập khóa vận hành.')
  const button = ev.target.querySelector('button[type=submit]')
  button.disabled = true
  try {
    await call('/v1/operator/me', { key })
  } catch (e) {
    if (e.status === 401) return fail('Khóa không đúng: cổng không nhận ra khóa này (GW_ERR_API_UNAUTHORIZED).')
    if (e.status === 403) return fail('Đây là khóa của hệ thống quản lý văn bản (DMS), không phải khóa vận hành (GW_ERR_API_FORBIDDEN).')
    return fail(refusal(e))
  } finally {
    button.disabled = false
  }
  setKey(key)
  done()
}

let loggedIn = () => {}

/** Wires the forms; `onLoggedIn` runs after a good login when the address already names a screen. */
export function initLogin(onLoggedIn) {
  loggedIn = onLoggedIn
  $('login-form').addEventListener('submit', onLogin)
  $('login-key-form').addEventListener('submit', onKeyLogin)
}
