// The console's API client: every call to the gateway goes through here, with the session token of a personal
// login or an operator key, kept for this browser session (sessionStorage, never localStorage), as
// `Authorization: Bearer`. Errors come back as ApiError with the gateway's `{ code, message }`.
/* global sessionStorage, fetch */

export const KEY_STORAGE = 'lienthong.operatorKey'

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message)
    this.status = status
    this.code = code
  }
}

export const getKey = () => sessionStorage.getItem(KEY_STORAGE)

export const setKey = (key) => sessionStorage.setItem(KEY_STORAGE, key)
export const forgetKey = () => sessionStorage.removeItem(KEY_STORAGE)

export async function call(path, { method = 'GET', body, key = getKey(), raw = false } = {}) {
  const headers = { accept: raw ? '*/*' : 'application/json' }
  if (key) headers.authorization = `Bearer ${key}`
  if (body !== undefined) headers['content-type'] = 'application/json'
  let res
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' })
  } catch {
    throw new ApiError(0, 'NETWORK', 'Không kết nối được tới cổng.')
  }
  if (raw && res.ok) return res
  let data
  try {
    data = await res.json()
  } catch {
    data = undefined
  }
  if (!res.ok) throw new ApiError(res.status, data?.code, data?.message ?? `HTTP ${res.status}`)
  return data
}

let unauthorized = () => {}

/** Who is logged in (GET /v1/operator/me): `{ id, name, role, via }`; set by main.js. */
export const session = { me: undefined }

/** Whether the operator's role allows what `need` does (viewer < operator < admin). */
export const can = (need) => {
  const order = ['viewer', 'operator', 'admin']
  return order.indexOf(session.me?.role ?? 'viewer') >= order.indexOf(need)
}

/** What a 401 on a screen's call does (main.js: back to the login screen with the message). */
export function onUnauthorized(fn) {
  unauthorized = fn
}

/** Calls from the screens: a 401 means the key stopped working, back to the login screen. */
export async function api(path, opts) {
  try {
    return await call(path, opts)
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      forgetKey()
      unauthorized(e.code === 'GW_ERR_API_SESSION_EXPIRED' ? 'Phiên đăng nhập đã kết thúc (hết thời gian hoặc lâu không thao tác), vui lòng đăng nhập lại.' : 'Phiên đăng nhập không còn hợp lệ, vui lòng đăng nhập lại.')
    }
    throw e
  }
}
