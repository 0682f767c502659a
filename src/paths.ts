import { fileURLToPath } from 'node:url'

/** Root of the installed package (the folder holding schemas/ and certs-sample/), from src/ or dist/. */
export const packageRoot = fileURLToPath(new URL('..', import.meta.url))

/** Absolute path of a file under schemas/. */
export const schemaPath = (name: string): string => fileURLToPath(new URL(`../schemas/${name}`, import.meta.url))
