/**
 * A RabbitMQ node of the test's own, from the machine's installed rabbitmq-server: its own node name
 * (`lt-<random>@localhost`), AMQP port and distribution port (free ports, 127.0.0.1 only), and everything else
 * (data, logs, config, enabled plugins: none unless `plugins` names some, so no management listener, Erlang cookie)
 * in a temporary folder. The
 * suites that stop a broker stop this one, never the machine's shared `rabbit@<host>`.
 *
 * The node runs as the current user (root included): on Debian the scripts of /usr/lib/rabbitmq/bin are called
 * directly, not the /usr/sbin wrappers that switch to the `rabbitmq` user and write /var/log/rabbitmq. HOME is the
 * node's folder for the server and for `rabbitmqctl`, so both read the folder's own `.erlang.cookie`; by hand:
 * `HOME=<dir> <bin>/rabbitmqctl -n <name> status`.
 *
 * `startRabbitNode(t)` resolves once `rabbitmqctl await_startup` says the node is up, and removes it in `t`'s
 * teardown (stop, delete the folder); if that never runs, the process's exit does it (common.ts).
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { freePorts, listening, onPath, onProcessExit, settlesWithin, sleep, tail, type TeardownTarget } from './common.js'

const run = promisify(execFile)

export interface RabbitNode {
  /** Erlang node name, e.g. `lt-3fa2b1c0@localhost`. */
  readonly name: string
  /** AMQP port on 127.0.0.1. */
  readonly port: number
  /** `amqp://guest:guest@127.0.0.1:<port>` */
  readonly url: string
  /** The node's temporary folder (data, logs, config, cookie). */
  readonly dir: string
  /** `rabbitmqctl -q -n <name> ...args`; resolves with stdout. */
  ctl(...args: string[]): Promise<string>
  /** Stop the RabbitMQ application (the Erlang node stays up): every AMQP connection is closed, the port refuses. */
  stopApp(): Promise<void>
  /** Start the application again (`start_app` returns once it is up). */
  startApp(): Promise<void>
  /** Halt the node and delete its folder (idempotent). */
  remove(): Promise<void>
}

/**
 * Where rabbitmq-server and rabbitmqctl are: LIENTHONG_TEST_RABBITMQ_BIN, Debian's /usr/lib/rabbitmq/bin, or the
 * PATH (generic Unix install, Homebrew).
 */
export function rabbitBinDir(): string | undefined {
  const candidates = [process.env.LIENTHONG_TEST_RABBITMQ_BIN, '/usr/lib/rabbitmq/bin', onPath('rabbitmq-server')]
  return candidates.find((d): d is string => d !== undefined && existsSync(path.join(d, 'rabbitmq-server')) && existsSync(path.join(d, 'rabbitmqctl')))
}

/** Why a test node cannot be started here (a skip reason), or undefined when it can. */
export function rabbitNodeUnavailable(): string | undefined {
  return rabbitBinDir() === undefined ? 'rabbitmq-server is not installed (or set LIENTHONG_TEST_RABBITMQ_BIN)' : undefined
}

/** Start a throwaway RabbitMQ node; removed in `t`'s teardown (and at process exit). */
export async function startRabbitNode(
  t?: TeardownTarget,
  opts: {
    startTimeoutMs?: number
    /** Plugins to enable on this node only (its own enabled_plugins file), e.g. `['rabbitmq_federation']`. Default: none. */
    plugins?: readonly string[]
    /** Lines added to the node's rabbitmq.conf, e.g. an ssl listener and its `ssl_options.*`. */
    config?: readonly string[]
  } = {},
): Promise<RabbitNode> {
  const bin = rabbitBinDir()
  if (bin === undefined) throw new Error(rabbitNodeUnavailable())
  const timeoutMs = opts.startTimeoutMs ?? 120_000
  const dir = mkdtempSync(path.join(tmpdir(), 'lt-rabbit-'))
  const name = `lt-${randomBytes(4).toString('hex')}@localhost`
  const [port, distPort] = (await freePorts(2)) as [number, number]

  writeFileSync(path.join(dir, 'rabbitmq.conf'), [`listeners.tcp.1 = 127.0.0.1:${port}`, 'disk_free_limit.absolute = 10MB', ...(opts.config ?? []), ''].join('\n'))
  writeFileSync(path.join(dir, 'enabled_plugins'), `[${(opts.plugins ?? []).join(',')}].\n`)
  writeFileSync(path.join(dir, 'rabbitmq-env.conf'), '') // instead of /etc/rabbitmq/rabbitmq-env.conf (NODENAME, ...)
  writeFileSync(path.join(dir, '.erlang.cookie'), randomBytes(15).toString('hex').toUpperCase(), { mode: 0o400 })
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('RABBITMQ_') && k !== 'ERL_FLAGS'))
  Object.assign(env, {
    HOME: dir,
    RABBITMQ_NODENAME: name,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_MNESIA_BASE: path.join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: path.join(dir, 'log'),
    RABBITMQ_CONFIG_FILE: path.join(dir, 'rabbitmq.conf'),
    RABBITMQ_ADVANCED_CONFIG_FILE: path.join(dir, 'advanced.config'),
    RABBITMQ_ENABLED_PLUGINS_FILE: path.join(dir, 'enabled_plugins'),
    RABBITMQ_CONF_ENV_FILE: path.join(dir, 'rabbitmq-env.conf'),
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
    ERL_CRASH_DUMP: path.join(dir, 'erl_crash.dump'),
  })

  const ctl = async (...args: string[]): Promise<string> => {
    const { stdout } = await run(path.join(bin, 'rabbitmqctl'), ['-q', '-n', name, ...args], { env, cwd: dir, timeout: 120_000 })
    return stdout
  }

  // Foreground rabbitmq-server (a shell that waits on the Erlang VM) in a process group of its own, so that the
  // exit cleanup can kill the shell, the VM and its port programs at once.
  const out = path.join(dir, 'server.out')
  const fd = openSync(out, 'a')
  const child: ChildProcess = spawn(path.join(bin, 'rabbitmq-server'), [], { env, cwd: dir, detached: true, stdio: ['ignore', fd, fd] })
  closeSync(fd)
  child.unref()
  let exited = false
  const exit = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  void exit.then(() => (exited = true))
  const killGroup = () => {
    if (exited || child.pid === undefined) return
    try {
      process.kill(-child.pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }
  const unregister = onProcessExit(() => {
    killGroup()
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 })
  })

  let removed: Promise<void> | undefined
  const remove = (): Promise<void> =>
    (removed ??= (async () => {
      if (!exited) {
        await ctl('stop').catch(() => {})
        if (!(await settlesWithin(exit, 15_000))) {
          killGroup()
          await settlesWithin(exit, 5_000)
        }
      }
      rmSync(dir, { recursive: true, force: true, maxRetries: 3 })
      unregister()
    })())

  const failed = (why: string) =>
    new Error(`RabbitMQ test node ${name} ${why}\n${tail(out)}\n${tail(path.join(dir, 'log', `${name}.log`), 10)}`)
  try {
    // the distribution port opens early in the boot; await_startup then waits for the rabbit application
    const end = Date.now() + timeoutMs
    for (;;) {
      if (exited) throw failed('exited during start-up')
      if (Date.now() > end) throw failed(`did not start within ${timeoutMs} ms`)
      if (await listening(distPort)) {
        const up = await ctl('await_startup', '--timeout', String(Math.ceil((end - Date.now()) / 1000))).then(
          () => true,
          () => false,
        )
        if (up) break
      }
      await sleep(200)
    }
  } catch (e) {
    await remove()
    throw e
  }
  t?.teardown(remove)

  return {
    name,
    port,
    url: `amqp://guest:guest@127.0.0.1:${port}`,
    dir,
    ctl,
    stopApp: async () => void (await ctl('stop_app')),
    startApp: async () => void (await ctl('start_app')),
    remove,
  }
}
