/**
 * edXML packages (QCVN 102:2016): build, parse, and the Envelope that keeps a package's exact bytes.
 * The only module that imports fast-xml-parser. See README.md in this folder.
 */
export { parseEnvelope, DEFAULT_MAX_BYTES, DEFAULT_MAX_DEPTH, type ParseOptions } from './parse.js'
export {
  buildEdoc,
  buildStatus,
  checkEmittable,
  edocModel,
  statusModel,
  type EdocInput,
  type StatusInput,
  type OrganInput,
  type ResponseForInput,
  type StaffInfoInput,
  type AttachmentInput,
  type BussinessInput,
} from './build.js'
export { Envelope, type EnvelopeWarning, type AttachmentReport, type EnvelopeTransfer, type PayloadLocation } from './envelope.js'
export {
  validateOrganId,
  ORGAN_ID_QCVN2016,
  ORGAN_ID_QD20,
  ORGAN_ID_LENIENT,
  type OrganIdCheck,
  type OrganIdForm,
  type OrganIdMode,
} from './organ-id.js'
export { formatDate, formatTimestamp, normaliseDate, normaliseTimestamp } from './dates.js'
export { normaliseContentId, sniffContentType, applyZipConvention, DEFAULT_MAX_UNZIPPED_BYTES, unzipBudget, type UnzipBudget, type Unzipped } from './attachments.js'
export { assertSchema } from './schema.js'
export * from '../document/edxml.js'
