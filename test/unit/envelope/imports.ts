// One import point for the envelope tests.
import { isGatewayError } from '../../../src/errors.js'
export * from '../../../src/envelope/index.js'
export { isGatewayError }
export const isGatewayErrorCode = (e: unknown): string | undefined => (isGatewayError(e) ? e.code : undefined)
