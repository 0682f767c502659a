/**
 * The operator console: static native ES modules (src/console/: index.html, console.css, main.js, api.js, dom.js,
 * format.js, views/*.js — plain files, no build step) served by the gateway itself at `/console`, plus the one module
 * that is not a file: `/console/labels.js`, generated at registration from the error catalogue, the delivery states
 * and the verdict codes (src/api/console-labels.ts), so a new code or state is labelled without touching the page.
 *
 * - `GET /console`, `GET /console/`: the page; `GET /console/<path>`: its stylesheet, modules and icon. The files are
 *   read once when the route is registered, from `<package root>/src/console/` and its subfolders (the same folder
 *   under tsx and after `npm run build`, since tsc copies nothing but .ts output; without the folder the API still
 *   starts and /console answers 404 with the reason). Only the files read then are served (a path is a key of that
 *   map, never joined onto the disk path), with their content type, a strong ETag (304 on If-None-Match),
 *   `cache-control: no-cache` (always revalidated: a new gateway version is seen at once) and, on the page, a strict
 *   Content-Security-Policy (own origin only, no inline script or style; module scripts are same-origin files).
 *
 * The page itself carries no data: everything comes from the operator API with the key the operator types in
 * (`/v1/operator/*` in ./operator.ts and ./health.ts, `/v1/log` in ./log.ts).
 */
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { gwError } from '../../errors.js'
import { packageRoot } from '../../paths.js'
import { consoleLabelsModule } from '../console-labels.js'

export interface ConsoleRoutesOptions {
  /** Folder of the static files. Default: `<package root>/src/console`. */
  dir?: string
}

/** Content types of the files the console may hold; anything else in the folder is not served. */
const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
}

const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ')

/** The generated module's path under /console/ (no file of that name in the folder is served). */
export const LABELS_MODULE = 'labels.js'

interface StaticFile {
  body: Buffer
  type: string
  etag: string
}

const NAME = /^[a-z0-9][a-z0-9._-]*$/i
/** Subfolders read at most this deep (views/ is one level). */
const MAX_DEPTH = 2

const staticFile = (body: Buffer, type: string): StaticFile => ({
  body,
  type,
  etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
})

/** The console's files, read once: relative path (`views/log.js`) → body, type, ETag. */
export function loadConsoleFiles(dir: string): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>()
  const walk = (folder: string, prefix: string, depth: number) => {
    let names: string[]
    try {
      names = readdirSync(folder)
    } catch (e) {
      throw gwError('GW_ERR_CONFIG_INVALID', { problems: `console files not found in ${folder}` }, e)
    }
    for (const name of names.sort()) {
      if (!NAME.test(name)) continue
      const full = path.join(folder, name)
      const st = statSync(full)
      if (st.isDirectory()) {
        if (depth < MAX_DEPTH) walk(full, `${prefix}${name}/`, depth + 1)
        continue
      }
      const type = TYPES[path.extname(name).toLowerCase()]
      if (!type || !st.isFile()) continue
      files.set(prefix + name, staticFile(readFileSync(full), type))
    }
  }
  walk(dir, '', 0)
  if (!files.has('index.html')) throw gwError('GW_ERR_CONFIG_INVALID', { problems: `console: no index.html in ${dir}` })
  return files
}

function sendFile(req: FastifyRequest, reply: FastifyReply, f: StaticFile): FastifyReply {
  reply
    .header('content-type', f.type)
    .header('etag', f.etag)
    .header('cache-control', 'no-cache')
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
  if (f.type.startsWith('text/html')) reply.header('content-security-policy', CSP).header('x-frame-options', 'DENY')
  const inm = req.headers['if-none-match']
  if (typeof inm === 'string' && inm.split(',').some((t) => t.trim() === f.etag || t.trim() === `W/${f.etag}`)) {
    return reply.code(304).send()
  }
  return reply.send(f.body)
}

export async function consoleRoutes(app: FastifyInstance, opts: ConsoleRoutesOptions = {}): Promise<void> {
  const dir = opts.dir ?? path.join(packageRoot, 'src', 'console')
  // a package installed without the console folder still serves its API: /console answers 404 and says why
  let files = new Map<string, StaticFile>()
  try {
    files = loadConsoleFiles(dir)
  } catch (e) {
    app.log.warn({ err: e, dir }, 'operator console files not found: /console is not served')
  }
  const index = files.get('index.html')
  if (index) files.set(LABELS_MODULE, staticFile(Buffer.from(consoleLabelsModule(), 'utf8'), TYPES['.js']!))
  const hide = { hide: true }

  const page = async (req: FastifyRequest, reply: FastifyReply) => {
    if (!index) throw gwError('GW_ERR_API_NOT_FOUND', { what: `operator console (no index.html in ${dir})` })
    return sendFile(req, reply, index)
  }
  app.get('/console', { schema: hide }, page)
  app.get('/console/', { schema: hide }, page)
  app.get<{ Params: { '*': string } }>('/console/*', { schema: hide }, async (req, reply) => {
    const name = req.params['*']
    const f = files.get(name)
    if (!f) throw gwError('GW_ERR_API_NOT_FOUND', { what: `console file ${name}` })
    return sendFile(req, reply, f)
  })
}
