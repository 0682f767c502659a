/**
 * `lienthong serve [--config FILE]`: run the gateway (API + outbox relay) until SIGINT/SIGTERM.
 * Default config: config/sample.json of the package (the sample PKI and a local RabbitMQ). Environment variables
 * LIENTHONG_* override the file (see schemas/config.json); LIENTHONG_CONFIG names the file when --config is absent.
 * A start that fails (configuration, keys, trust files, store, HTTP port in use...) prints the error with what to
 * change and exits 1: whatever had started (broker connection, relay, store) is stopped first.
 */
import path from 'node:path'
import closeWithGrace from 'close-with-grace'
import { loadConfig } from '../config.js'
import { isGatewayError } from '../errors.js'
import { packageRoot } from '../paths.js'
import { startGateway } from '../server.js'

const USAGE = 'usage: lienthong serve [--config FILE]'

export async function run(argv: string[]): Promise<number> {
  let file: string | undefined
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--config' || a === '-c') file = argv[++i]
    else if (a?.startsWith('--config=')) file = a.slice('--config='.length)
    else if (a === '-h' || a === '--help') {
      console.log(USAGE)
      return 0
    } else {
      console.error(`lienthong serve: unknown argument ${a}\n${USAGE}`)
      return 2
    }
  }
  if (file === '') {
    console.error(`lienthong serve: --config needs a file\n${USAGE}`)
    return 2
  }
  file ??= process.env.LIENTHONG_CONFIG ?? path.join(packageRoot, 'config', 'sample.json')
  let gateway: Awaited<ReturnType<typeof startGateway>>
  try {
    const config = loadConfig({ file, env: process.env })
    gateway = await startGateway(config)
    gateway.logger.info(
      { url: gateway.url, config: config.file, agencies: config.agencies.map((a) => a.organId) },
      `lienthong listening on ${gateway.url} (API docs at ${gateway.url}/docs)`,
    )
  } catch (e) {
    // startGateway stopped what it had started; should anything still hold the event loop, exit anyway
    setTimeout(() => {
      console.error('lienthong serve: something was still running 3 s after the failed start; exiting')
      process.exit(1)
    }, 3000).unref()
    if (isGatewayError(e)) {
      const list = e.params.list
      if (Array.isArray(list) && list.length > 1) {
        console.error(`lienthong serve: ${e.code}: ${list.length} problems in the configuration${file ? ` (${file} and LIENTHONG_* variables)` : ''}:`)
        for (const p of list) console.error(`  - ${String(p)}`)
      } else {
        console.error(`lienthong serve: ${e.code}: ${e.message}`)
      }
      return 1
    }
    throw e
  }
  return new Promise<number>((resolve) => {
    closeWithGrace({ delay: 15_000 }, async ({ signal, err }) => {
      if (err) gateway.logger.error({ err }, 'shutting down after an error')
      else gateway.logger.info({ signal }, 'shutting down: no new requests, finishing in-flight work')
      await gateway.close()
      gateway.logger.info('stopped')
      resolve(err ? 1 : 0)
    })
  })
}
