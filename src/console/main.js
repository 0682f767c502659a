// lienthong operator console: native ES modules served as they are (no build step, no dependency). This one is the
// entry point (index.html: <script type="module" src="/console/main.js">): the router between the screens of views/.
// api.js is the API client, dom.js the element builder, format.js the display text of codes with the labels the
// gateway generates (/console/labels.js).
/* global document, window, location, URLSearchParams */

import { api, call, forgetKey, getKey, onUnauthorized, session } from './api.js'
import { $, focusTitle, notify } from './dom.js'
import { setAgencies } from './format.js'
import { renderDeadLetters } from './views/dead-letters.js'
import { renderDoc } from './views/doc.js'
import { renderHealth } from './views/health.js'
import { fillFilters, initLog, renderLog } from './views/log.js'
import { initLogin, showLogin } from './views/login.js'
import { renderOverdue } from './views/overdue.js'

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '')
  const [pathPart, query = ''] = raw.split('?')
  const parts = pathPart.split('/').filter(Boolean).map(decodeURIComponent)
  return { view: parts[0] || 'log', arg: parts[1], params: new URLSearchParams(query) }
}

function show(view) {
  $('nav').hidden = false
  for (const v of document.querySelectorAll('.view')) v.hidden = v.id !== `view-${view}`
  const navView = view === 'doc' ? 'log' : view
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.dataset.view === navView) a.setAttribute('aria-current', 'page')
    else a.removeAttribute('aria-current')
  }
}

let directory

const ROLE_LABELS = { viewer: 'chỉ xem', operator: 'vận hành', admin: 'quản trị' }

/**
 * Once per login: who is logged in (GET /v1/operator/me, shown in the header; the role decides which actions are
 * offered) and the agencies' names (GET /v1/operator/agencies; without them codes are shown alone).
 */
async function loadSession() {
  directory ??= Promise.all([
    api('/v1/operator/me').then((me) => {
      session.me = me
      $('whoami').textContent = `${me.name ?? me.id} · ${ROLE_LABELS[me.role] ?? me.role}`
      $('whoami').title = `${me.id} (${me.role}, ${me.via})`
    }),
    api('/v1/operator/agencies').then((r) => setAgencies(r.items)),
  ]).catch(() => {
    directory = undefined
  })
  return directory
}

async function route() {
  if (!getKey()) return showLogin()
  await loadSession()
  if (!getKey()) return showLogin()
  const { view, arg, params } = parseHash()
  switch (view) {
    case 'doc':
      show('doc')
      return renderDoc(arg, params.get('dir'))
    case 'overdue':
      show('overdue')
      focusTitle('overdue-title')
      return renderOverdue()
    case 'dead-letters':
      show('dead-letters')
      focusTitle('dead-title')
      return renderDeadLetters()
    case 'health':
      show('health')
      focusTitle('health-title')
      return renderHealth()
    default:
      show('log')
      fillFilters(params)
      return renderLog(params)
  }
}

function start() {
  initLogin(route)
  onUnauthorized((message) => {
    directory = undefined
    session.me = undefined
    showLogin(message)
  })
  initLog(route)
  $('logout').addEventListener('click', async () => {
    // end the session on the gateway too (a key has none); the page forgets the token either way
    await call('/v1/operator/logout', { method: 'POST' }).catch(() => {})
    forgetKey()
    directory = undefined
    session.me = undefined
    $('whoami').textContent = ''
    location.hash = '#/login'
    showLogin()
    notify('Đã đăng xuất.')
  })
  window.addEventListener('hashchange', route)
  route()
}

start()
