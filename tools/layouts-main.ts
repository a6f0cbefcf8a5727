// `make layouts`: writes src/bpf/layouts.generated.ts from bpf/flowlens.h and
// the built objects (run from the repository root, after `make bpf`).

import { writeFileSync } from 'node:fs';
import { generateLayouts, LAYOUTS_FILE } from './layouts.js';

writeFileSync(LAYOUTS_FILE, generateLayouts());
console.log(`wrote ${LAYOUTS_FILE}`);
