#!/usr/bin/env node
// The `lienthong` command. Each subcommand lives in src/cli/<name>.ts and exports `run(argv): Promise<number>`.
const commands: Record<string, { file: string; help: string }> = {
  serve: { file: 'serve', help: 'serve [--config FILE]            run the gateway (API, relay, consumer)' },
  parse: { file: 'parse', help: 'parse FILE                       print a parsed edXML package as JSON' },
  sign: { file: 'sign', help: 'sign FILE --key KEY --cert CERT [--chain PEM] -o OUT.p7s | --p12 FILE --password PW' },
  verify: { file: 'verify', help: 'verify FILE --signature SIG.p7s --trust ROOTS.pem [--crl CRL.pem] [--chain PEM] [--organ-id ID] [--json]' },
  pki: { file: 'pki', help: 'pki init DIR                     make a fresh sample PKI like certs-sample/' },
  demo: { file: 'demo', help: 'demo [--axis]                    two gateways exchanging a document on a local RabbitMQ (--axis: through the national axis)' },
  log: { file: 'log', help: 'log verify --store FILE          check the delivery log hash chain offline' },
  backup: { file: 'backup', help: 'backup --store FILE --out FILE   online copy of an SQLite store, verified (PostgreSQL: prints pg_dump)' },
  purge: { file: 'purge', help: 'purge [--config FILE] [--dry-run]  run the retention purge once (config retention)' },
  restore: { file: 'restore', help: 'restore --from BACKUP --store FILE [--force]  check a backup, then put it in place' },
  operator: { file: 'operator', help: 'operator add --config FILE --id ID [--name NAME] [--role viewer|operator|admin]   add a personal operator account' },
}

function usage(): string {
  return ['usage: lienthong <command> [options]', '', ...Object.values(commands).map((c) => '  lienthong ' + c.help)].join('\n')
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv
  if (!name || name === '-h' || name === '--help' || name === 'help') {
    console.log(usage())
    return name ? 0 : 2
  }
  const cmd = commands[name]
  if (!cmd) {
    console.error(`lienthong: unknown command "${name}"\n\n${usage()}`)
    return 2
  }
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js'
  let mod: { run(argv: string[]): Promise<number> }
  try {
    mod = await import(new URL(`./cli/${cmd.file}${ext}`, import.meta.url).href)
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' && String(e).includes(`/cli/${cmd.file}`)) {
      console.error(`lienthong: command "${name}" is not available in this build`)
      return 2
    }
    throw e
  }
  return mod.run(rest)
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (e) => {
    console.error(e instanceof Error ? `${(e as { code?: string }).code ?? 'error'}: ${e.message}` : e)
    process.exitCode = 1
  },
)
