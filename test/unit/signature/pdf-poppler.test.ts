/**
 * Cross-check with independent PDF tools when installed (Debian: poppler-utils, qpdf; skipped otherwise): the test
 * PDFs are well-formed for qpdf, and poppler's pdfsig (NSS) agrees with our verdicts and whole-file coverage.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { verifyPdf } from '../../../src/signature/pdf.js'
import { addSignature, appendUpdate, createPdf, insertSignature, prepareSignature } from '../../fixtures/pdf/build.js'
import { opensslSign, personalSigner, sampleSigner, sampleVerifier } from '../../fixtures/pdf/pki.js'

const has = (cmd: string) => spawnSync(cmd, ['--version'], { stdio: 'ignore' }).error === undefined
const skip = !has('pdfsig') || !has('qpdf') ? 'pdfsig (poppler-utils) or qpdf not installed' : false

t.test('pdfsig and qpdf agree', { skip }, async (t) => {
  const dir = t.testdir({})
  const vpcp = await sampleSigner('vpcp')
  const person = await personalSigner(dir)
  let two = await addSignature(createPdf('Quyết định'), (c) => person.sign(c), { field: 'NguoiKy' })
  two = await addSignature(two, (c) => vpcp.sign(c), { field: 'CoQuan', layout: 'newlines' })
  const prep = prepareSignature(createPdf(), { layout: 'compact' })
  const tampered = Buffer.from(two.bytes)
  tampered[tampered.indexOf('/MediaBox [0 0 595') + 12] = 0x39
  const files = {
    two: two.bytes,
    updated: appendUpdate(two).bytes,
    openssl: insertSignature(prep, opensslSign(prep.signedContent, 'ubnd-hcm')).bytes,
    tampered,
  }
  const verifier = sampleVerifier()
  for (const [name, bytes] of Object.entries(files)) {
    const file = path.join(dir, `${name}.pdf`)
    writeFileSync(file, bytes)
    const check = spawnSync('qpdf', ['--check', file], { encoding: 'utf8' })
    t.equal(check.status, 0, `qpdf --check ${name}: ${check.stdout.trim().split('\n').pop()}`)
    const out = execFileSync('pdfsig', [file], { encoding: 'utf8' })
    const theirs = out.split(/^Signature #\d+:/m).slice(1)
    const ours = await verifyPdf(bytes, verifier)
    t.equal(ours.signatures.length, theirs.length, `${name}: same number of signatures`)
    ours.signatures.forEach((s, i) => {
      const p = theirs[i]!
      const pValid = /Signature Validation: Signature is Valid/.test(p)
      // pdfsig does not know our trust anchors and does not judge later revisions: compare the signature itself
      // (digest and signature value); MODIFIED_AFTER_SIGNING / MDP_PERMISSION_VIOLATED are given only over a valid CMS
      const cmsValid = ['VALID', 'MODIFIED_AFTER_SIGNING', 'MDP_PERMISSION_VIOLATED'].includes(s.verdict.code)
      t.equal(pValid, cmsValid, `${name} #${i + 1}: pdfsig "${/Signature Validation: (.*)/.exec(p)?.[1]}", ours ${s.verdict.code}`)
      t.equal(/Total document signed/.test(p), s.signature.coversWholeFile, `${name} #${i + 1}: whole file`)
      if (name === 'updated') t.equal(s.verdict.code, 'MODIFIED_AFTER_SIGNING', `${name} #${i + 1}: a later content revision is reported`)
    })
  }
})
