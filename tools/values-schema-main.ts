// `make values-schema`: writes the configuration part of
// charts/flowlens/values.schema.json from src/config.ts (run from the repository root).

import { readFileSync, writeFileSync } from 'node:fs';
import { generateValuesSchema, VALUES_FILE, VALUES_SCHEMA_FILE } from './values-schema.js';

const current = JSON.parse(readFileSync(VALUES_SCHEMA_FILE, 'utf8'));
writeFileSync(VALUES_SCHEMA_FILE, generateValuesSchema(current, readFileSync(VALUES_FILE, 'utf8')));
console.log(`wrote ${VALUES_SCHEMA_FILE}`);
