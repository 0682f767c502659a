/**
 * Test helper: a certificate hierarchy minted with the openssl command line (independent of our code), in a
 * temporary directory. `openssl ca` gives full control of validity dates, extensions and CRLs.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer as netServer } from 'node:net'
import { join } from 'node:path'

export type KeyAlg = 'rsa2048' | 'rsa3072' | 'p256'

export function openssl(args: string[], opts: { cwd?: string; input?: Buffer | string } = {}): Buffer {
  try {
    return execFileSync('openssl', args, { cwd: opts.cwd, input: opts.input, stdio: ['pipe', 'pipe', 'pipe'] })
  } catch (e) {
    const err = e as { stderr?: Buffer }
    throw new Error(`openssl ${args.join(" ")} failed: ${String(err.stderr ?? e)}`, { cause: e })
  }
}

/** Runs openssl and returns its exit status instead of throwing. */
export function opensslStatus(args: string[], cwd?: string): { status: number; stderr: string } {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
    return { status: 0, stderr: '' }
  } catch (e) {
    const err = e as { status?: number; stderr?: Buffer }
    return { status: err.status ?? -1, stderr: String(err.stderr ?? '') }
  }
}

const newKeyArgs = (alg: KeyAlg): string[] =>
  alg === 'p256' ? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'] : ['-newkey', alg === 'rsa2048' ? 'rsa:2048' : 'rsa:3072']

const cnf = (dir: string, key: string, cert: string): string => `
[ req ]
distinguished_name = dn
string_mask = utf8only
utf8 = yes
prompt = no
[ dn ]
CN = unused
[ ca ]
default_ca = CA_default
[ CA_default ]
dir = ${dir}
database = $dir/index.txt
new_certs_dir = $dir/newcerts
serial = $dir/serial
crlnumber = $dir/crlnumber
private_key = ${key}
certificate = ${cert}
default_md = sha256
default_days = 365
default_crl_days = 30
policy = policy_any
unique_subject = no
copy_extensions = none
email_in_dn = no
[ policy_any ]
countryName = optional
organizationName = optional
organizationalUnitName = optional
userId = optional
commonName = supplied
[ v3_root ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[ v3_intermediate ]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[ v3_leaf ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ v3_leaf_nosig ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, keyEncipherment, dataEncipherment
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ v3_leaf_unknown_critical ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
1.3.6.1.4.1.99999.1 = critical, ASN1:UTF8String:must be understood
[ v3_tsa ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation
extendedKeyUsage = critical, timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ v3_not_ca ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyCertSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
`

export interface Issued {
  readonly keyPath: string
  readonly certPath: string
  readonly keyPem: string
  readonly certPem: string
}

export interface Ca extends Issued {
  readonly dir: string
  readonly cnfPath: string
}

function initCaDir(dir: string, key: string, cert: string): string {
  mkdirSync(join(dir, 'newcerts'), { recursive: true })
  writeFileSync(join(dir, 'index.txt'), '')
  writeFileSync(join(dir, 'serial'), (Math.floor(Math.random() * 0xffffff) + 0x10000000).toString(16).toUpperCase() + '\n')
  writeFileSync(join(dir, 'crlnumber'), '01\n')
  const cnfPath = join(dir, 'ca.cnf')
  writeFileSync(cnfPath, cnf(dir, key, cert))
  return cnfPath
}

const read = (p: string): string => readFileSync(p, 'utf8')

/** An existing CA (its key and certificate files, e.g. the sample PKI's) made usable with `issue`, in `dir`. */
export function existingCa(dir: string, keyPath: string, certPath: string): Ca {
  mkdirSync(dir, { recursive: true })
  const cnfPath = initCaDir(dir, keyPath, certPath)
  return { dir, cnfPath, keyPath, certPath, keyPem: read(keyPath), certPem: read(certPath) }
}

/** A self-signed root CA. */
export function makeRoot(dir: string, subject: string, alg: KeyAlg = 'rsa2048'): Ca {
  const keyPath = join(dir, 'ca.key')
  const certPath = join(dir, 'ca.pem')
  const cnfPath = initCaDir(dir, keyPath, certPath)
  openssl(['req', '-config', cnfPath, '-x509', '-new', ...newKeyArgs(alg), '-nodes', '-keyout', keyPath, '-out', certPath,
    '-subj', subject, '-utf8', '-days', '3650', '-sha256', '-extensions', 'v3_root', '-set_serial', '0x01'])
  return { dir, cnfPath, keyPath, certPath, keyPem: read(keyPath), certPem: read(certPath) }
}

export interface IssueOptions {
  alg?: KeyAlg
  extensions?: 'v3_leaf' | 'v3_leaf_nosig' | 'v3_leaf_unknown_critical' | 'v3_intermediate' | 'v3_not_ca' | 'v3_tsa'
  /** YYMMDDHHMMSSZ */
  startdate?: string
  enddate?: string
}

/** Issues a certificate from `ca` (key + CSR by openssl req, certificate by openssl ca). */
export function issue(ca: Ca, dir: string, subject: string, o: IssueOptions = {}): Issued {
  mkdirSync(dir, { recursive: true })
  const keyPath = join(dir, 'key.pem')
  const csrPath = join(dir, 'req.csr')
  const certPath = join(dir, 'cert.pem')
  openssl(['req', '-config', ca.cnfPath, '-new', ...newKeyArgs(o.alg ?? 'rsa2048'), '-nodes', '-keyout', keyPath, '-out', csrPath, '-subj', subject, '-utf8'])
  const dates = [...(o.startdate ? ['-startdate', o.startdate] : []), ...(o.enddate ? ['-enddate', o.enddate] : ['-days', '365'])]
  openssl(['ca', '-batch', '-config', ca.cnfPath, '-extensions', o.extensions ?? 'v3_leaf', '-preserveDN', '-utf8', '-notext',
    '-in', csrPath, '-out', certPath, ...dates])
  return { keyPath, certPath, keyPem: read(keyPath), certPem: read(certPath) }
}

/** A CA under `parent`, usable with `issue`. */
export function makeIntermediate(parent: Ca, dir: string, subject: string, o: IssueOptions = {}): Ca {
  const i = issue(parent, dir, subject, { extensions: 'v3_intermediate', ...o })
  const cnfPath = initCaDir(dir, i.keyPath, i.certPath)
  return { ...i, dir, cnfPath }
}

export function revoke(ca: Ca, certPath: string): void {
  openssl(['ca', '-batch', '-config', ca.cnfPath, '-revoke', certPath, '-crl_reason', 'keyCompromise'])
}

/** A CRL of `ca` (PEM); dates YYMMDDHHMMSSZ override the default 30-day window. */
export function crl(ca: Ca, o: { lastupdate?: string; nextupdate?: string } = {}): string {
  const out = join(ca.dir, `crl-${Date.now()}-${Math.random().toString(36).slice(2)}.pem`)
  openssl(['ca', '-batch', '-config', ca.cnfPath, '-gencrl', '-out', out,
    ...(o.lastupdate ? ['-crl_lastupdate', o.lastupdate] : []), ...(o.nextupdate ? ['-crl_nextupdate', o.nextupdate] : [])])
  return read(out)
}

/** openssl time string YYMMDDHHMMSSZ for a Date. */
export function osslTime(d: Date): string {
  return d.toISOString().replace(/[-:T]/g, '').slice(2, 14) + 'Z'
}

export const days = (n: number): Date => new Date(Date.now() + n * 86_400_000)

/** A TCP port free on 127.0.0.1 right now (for a responder or server the test starts). */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = netServer()
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port
      s.close(() => resolve(p))
    })
    s.on('error', reject)
  })
