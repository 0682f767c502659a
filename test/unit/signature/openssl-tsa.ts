/**
 * Test helper: a time-stamping authority on 127.0.0.1 whose tokens are made by `openssl ts -reply` (independent of
 * our code). A small HTTP wrapper writes each request to a temporary file and runs openssl with a TSA certificate
 * and key minted by openssl (extendedKeyUsage critical timeStamping, `issue(..., { extensions: 'v3_tsa' })`).
 *
 * `mode` changes what it answers: `ok`; `down` (the connection is dropped); `http-500`; `slow` (never answers);
 * `reject` (a TimeStampResp with status rejection, made by openssl from a query under an unaccepted policy);
 * `other-data` (a token over another digest); `tamper` (the token's signature altered); `no-nonce` (a token for a
 * query without our nonce).
 */
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { join } from 'node:path'
import { promisify } from 'node:util'
import * as pkijs from 'pkijs'
import type { Issued } from './openssl-pki.js'

const run = promisify(execFile)

export type TsaMode = 'ok' | 'down' | 'http-500' | 'slow' | 'reject' | 'other-data' | 'tamper' | 'no-nonce'

export interface OpensslTsa {
  readonly url: string
  mode: TsaMode
  /** Requests received (any mode). */
  requests: number
  /** Responses sent (DER TimeStampResp), newest last. */
  readonly responses: Buffer[]
  close(): Promise<void>
}

export const TSA_POLICY = '1.2.3.4.1'

function config(dir: string, tsa: Issued, chainPath: string): string {
  const p = join(dir, 'tsa.cnf')
  writeFileSync(join(dir, 'serial'), '1000\n')
  writeFileSync(p, `
[ tsa ]
default_tsa = tsa_config1
[ tsa_config1 ]
dir = ${dir}
serial = ${dir}/serial
crypto_device = builtin
signer_cert = ${tsa.certPath}
certs = ${chainPath}
signer_key = ${tsa.keyPath}
signer_digest = sha256
default_policy = ${TSA_POLICY}
other_policies = 1.2.3.4.5
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = no
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
`)
  return p
}

/** Flips a byte of the token's SignerInfo signature value (the last bytes of an openssl token). */
export function tamperToken(resp: Buffer): Buffer {
  const out = Buffer.from(resp)
  out[out.length - 3]! ^= 0x01
  return out
}

/** Starts the TSA; `chainPem` is what openssl puts in its tokens beside the TSA certificate (its CA). */
export async function startOpensslTsa(dir: string, tsa: Issued, chainPem: string): Promise<OpensslTsa> {
  mkdirSync(dir, { recursive: true })
  const chainPath = join(dir, 'chain.pem')
  writeFileSync(chainPath, chainPem)
  const cnf = config(dir, tsa, chainPath)
  let n = 0
  const reply = async (query: Buffer): Promise<Buffer> => {
    const q = join(dir, `q-${++n}.tsq`)
    const r = join(dir, `r-${n}.tsr`)
    writeFileSync(q, query)
    await run('openssl', ['ts', '-reply', '-config', cnf, '-queryfile', q, '-out', r])
    return readFileSync(r)
  }
  const other = async (args: string[]): Promise<Buffer> => {
    const data = join(dir, `d-${++n}.bin`)
    writeFileSync(data, randomBytes(32))
    const q = join(dir, `oq-${n}.tsq`)
    await run('openssl', ['ts', '-query', '-data', data, '-sha256', '-cert', ...args, '-out', q])
    return reply(readFileSync(q))
  }
  const state: OpensslTsa = {
    url: '',
    mode: 'ok',
    requests: 0,
    responses: [],
    close: () => new Promise<void>((r) => server.close(() => r())),
  }
  const sockets = new Set<import('node:net').Socket>()
  const server: Server = createServer((req, res) => {
    const body: Buffer[] = []
    req.on('data', (c: Buffer) => body.push(c))
    req.on('end', () => {
      state.requests++
      const query = Buffer.concat(body)
      const send = (b: Buffer) => {
        state.responses.push(b)
        res.writeHead(200, { 'content-type': 'application/timestamp-reply' }).end(b)
      }
      const failed = (e: unknown) => res.writeHead(500).end(String(e))
      switch (state.mode) {
        case 'down':
          req.socket.destroy()
          return
        case 'http-500':
          res.writeHead(500).end()
          return
        case 'slow':
          return
        case 'reject': {
          // a query under a policy the TSA does not accept: openssl answers status rejection, unacceptedPolicy
          void other(['-tspolicy', '1.2.3.9.9']).then(send, failed)
          return
        }
        case 'other-data':
          void other([]).then(send, failed)
          return
        case 'no-nonce': {
          // the same digest, asked without a nonce (a replayed or pre-produced answer)
          const digest = Buffer.from(pkijs.TimeStampReq.fromBER(query).messageImprint.hashedMessage.valueBlock.valueHexView).toString('hex')
          const q = join(dir, `nq-${++n}.tsq`)
          void run('openssl', ['ts', '-query', '-digest', digest, '-sha256', '-cert', '-no_nonce', '-out', q]).then(() => reply(readFileSync(q))).then(send, failed)
          return
        }
        case 'tamper':
          void reply(query).then((b) => send(tamperToken(b)), failed)
          return
        default:
          void reply(query).then(send, failed)
      }
    })
  })
  server.on('connection', (s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  ;(state as { url: string }).url = `http://127.0.0.1:${(server.address() as { port: number }).port}/tsa`
  state.close = () =>
    new Promise<void>((r) => {
      for (const s of sockets) s.destroy()
      server.close(() => r())
    })
  return state
}

/** The token (ContentInfo DER) of a TimeStampResp. */
export function tokenOfResponse(resp: Buffer): Buffer {
  const r = pkijs.TimeStampResp.fromBER(resp)
  if (!r.timeStampToken) throw new Error('no token in the response')
  return Buffer.from(r.timeStampToken.toSchema().toBER(false))
}
