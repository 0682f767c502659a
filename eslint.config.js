// Lint rules, including the dependency rule of the layout:
//   api, transport -> pipeline -> envelope, signature, store -> document
// Each library is imported only by the folder that owns it.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

const only = (pkgs, message) => ({
  'no-restricted-imports': ['error', { paths: pkgs.map((name) => ({ name, message })) }],
})
const owned = {
  'fast-xml-parser': 'only src/envelope/ parses XML',
  pkijs: 'only src/signature/ uses PKI.js',
  asn1js: 'only src/signature/ uses asn1js',
  'node-forge': 'node-forge is only for the sample PKI and PKCS#12 (src/signature/)',
  amqplib: 'only src/transport/ talks AMQP',
  'better-sqlite3': 'only src/store/ talks to databases',
  pg: 'only src/store/ talks to databases',
  fastify: 'only src/api/ knows HTTP',
}
const except = (...names) =>
  only(Object.keys(owned).filter((n) => !names.includes(n)), 'see eslint.config.js: this folder may not import it')

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.tap/**', 'certs-sample/**', 'test-output/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  {
    files: ['src/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "ThrowStatement > NewExpression[callee.name='Error']",
          message: 'throw a GatewayError from src/errors.ts (gwError) instead of a bare Error',
        },
      ],
    },
  },
  { files: ['src/document/**/*.ts'], rules: except() },
  { files: ['src/envelope/**/*.ts'], rules: except('fast-xml-parser') },
  { files: ['src/signature/**/*.ts'], rules: except('pkijs', 'asn1js', 'node-forge') },
  { files: ['src/store/**/*.ts'], rules: except('better-sqlite3', 'pg') },
  { files: ['src/transport/**/*.ts'], rules: except('amqplib') },
  { files: ['src/pipeline/**/*.ts'], rules: except() },
  { files: ['src/api/**/*.ts'], rules: except('fastify') },
  // the VXP endpoint is an HTTP edge like src/api/
  { files: ['src/vxp/**/*.ts'], rules: except('fastify') },
)
