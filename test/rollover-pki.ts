/**
 * Test helper: a second signing identity for a sample agency (a renewed certificate with a new key), issued with
 * the openssl command line by the sample signing CA (certs-sample/intermediate-ca.*) in a test's own folder, so no
 * extra key is committed. Subject C/O/CN and UID = the OrganId (or another UID, or none), keyUsage
 * digitalSignature + nonRepudiation, valid from now for `days`.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { CERTS } from './helper.js'

export interface IssuedIdentity {
  keyPath: string
  certPath: string
  chainPath: string
}

const openssl = (args: string[]): void => {
  execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] })
}

export function issueNextIdentity(dir: string, organId: string, cn: string, opts: { uid?: string | null; days?: number } = {}): IssuedIdentity {
  mkdirSync(dir, { recursive: true })
  const tag = `${organId}-${Math.random().toString(36).slice(2, 8)}`
  const keyPath = path.join(dir, `next-${tag}.key.pem`)
  const csr = path.join(dir, `next-${tag}.csr`)
  const ext = path.join(dir, `next-${tag}.cnf`)
  const certPath = path.join(dir, `next-${tag}.cert.pem`)
  writeFileSync(ext, '[v3]\nbasicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature, nonRepudiation\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n')
  const uid = opts.uid === undefined ? organId : opts.uid
  openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyPath, '-out', csr, '-subj', `/C=VN/O=${cn}/CN=${cn} (renewed)${uid ? `/UID=${uid}` : ''}`, '-utf8'])
  openssl([
    'x509', '-req', '-in', csr, '-CA', path.join(CERTS, 'intermediate-ca.pem'), '-CAkey', path.join(CERTS, 'intermediate-ca.key.pem'),
    '-days', String(opts.days ?? 30), '-sha256', '-extfile', ext, '-extensions', 'v3',
    '-set_serial', `0x${Date.now().toString(16)}${Math.floor(Math.random() * 0xffff).toString(16).padStart(4, '0')}`, '-out', certPath,
  ])
  return { keyPath, certPath, chainPath: path.join(CERTS, 'intermediate-ca.pem') }
}
