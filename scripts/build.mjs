// Compiles the TypeScript to dist/ and precompiles the schema validators
// (ajv standalone code) so that no command compiles a schema at start-up.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', root], { stdio: 'inherit' });
const validators = join(root, 'scripts/build-validators.mjs');
if (existsSync(validators)) execFileSync(process.execPath, [validators], { stdio: 'inherit' });
execFileSync(process.execPath, [join(root, 'scripts/bundle.mjs')], { stdio: 'inherit' });
execFileSync(process.execPath, [join(root, 'scripts/code-cache.mjs')], { stdio: 'inherit' });
