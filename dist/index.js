import { createRequire as __athenaCreateRequire } from 'node:module';
const require = __athenaCreateRequire(import.meta.url);

// src/index.ts
process.stderr.write("athena-bench action: not implemented yet\n");
process.exit(1);
