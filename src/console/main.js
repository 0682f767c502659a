// lienthong operator console: native ES modules served as they are (no build step, no dependency). This one is the
// entry point (index.html: <script type="module" src="/console/main.js">): the router between the screens of views/.
// api.js is the API client, dom.js the element builder, format.js the display text of codes with the labels the
// gateway generates (/console/labels.js).
/* global document, window, location, URLSearchParams */

import { api, forgetKey, getKey, onUnauthorized } from './api.js'
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

/** The agencies' names (GET /v1/operator/agencies), once per session; without them codes are shown alone. */
async function loadDirectory() {
  directory ??= api('/v1/operator/agencies')
    .then((r) => setAgencies(r.items))
    .catch(() => {
      directory = undefined
    })
  return directory
}

async function route() {
  if (!getKey()) return showLogin()
  await loadDirectory()
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
  onUnauthorized((message) => showLogin(message))
  initLog(route)
  $('logout').addEventListener('click', () => {
    forgetKey()
    directory = undefined
    location.hash = '#/login'
    showLogin()
    notify('Đã đăng xuất.')
  })
  window.addEventListener('hashchange', route)
  route()
}

start()
