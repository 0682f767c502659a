/**
 * Organisation identifier codes (mã định danh), docs/edxml.md §d.
 *
 * - `qcvn2016`: QCVN 102:2016 layout `NNN.NN.NN.XNN` (e.g. `000.00.00.G22`);
 * - `qd20`: Decision 20/2020/QĐ-TTg and SĐ1:2022: A-Z, 0-9 and dots, at most 35 characters (e.g. `28.22.H17`);
 * - `lenient`: values seen on axes and LGSPs (`vxp.saas.03`, `H37.DN.001`): letters of both cases, digits, `_`, `-`,
 *   dot-separated, at most 35 characters. Accepted on input with a warning, never emitted.
 */

export type OrganIdForm = 'qcvn2016' | 'qd20' | 'lenient' | 'invalid'
/** `strict`: only the two official forms (what we emit). `lenient`: also the lenient inbound form, with a warning. */
export type OrganIdMode = 'strict' | 'lenient'

export interface OrganIdCheck {
  ok: boolean
  form: OrganIdForm
  /** Set when the value is accepted only by the lenient pattern, or when it is refused (the reason). */
  warning?: string
}

export const ORGAN_ID_QCVN2016 = /^\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}$/
export const ORGAN_ID_QD20 = /^(?=.{1,35}$)[0-9A-Z]+(?:\.[0-9A-Z]+)*$/
export const ORGAN_ID_LENIENT = /^(?=.{1,35}$)[0-9A-Za-z_-]+(?:\.[0-9A-Za-z_-]+)*$/

/** Classify an OrganId and say whether `mode` accepts it. */
export function validateOrganId(value: string, mode: OrganIdMode = 'lenient'): OrganIdCheck {
  if (ORGAN_ID_QCVN2016.test(value)) return { ok: true, form: 'qcvn2016' }
  if (ORGAN_ID_QD20.test(value)) return { ok: true, form: 'qd20' }
  if (ORGAN_ID_LENIENT.test(value)) {
    return mode === 'lenient'
      ? { ok: true, form: 'lenient', warning: `OrganId ${JSON.stringify(value)} is not in the QCVN 102 or Decision 20/2020 form (accepted leniently)` }
      : { ok: false, form: 'lenient', warning: 'not in the QCVN 102 or Decision 20/2020 form (A-Z, 0-9 and dots, at most 35 characters)' }
  }
  return {
    ok: false,
    form: 'invalid',
    warning: value === '' ? 'empty' : 'only letters, digits, _, - and dot-separated groups of at most 35 characters are allowed',
  }
}
