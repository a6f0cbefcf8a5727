// `make alerts`: writes the generated rule files (run from the repository root).

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { DEFAULT_CONFIG } from './config.js';
import { renderAll } from './render.js';

for (const [path, content] of renderAll(DEFAULT_CONFIG)) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
  console.log(`wrote ${path}`);
}
