import { startLocalServer, describeServer } from './mysql/index.ts';
import { errorMessage, AthenaBenchError } from './errors.ts';

// Foundation-stage CLI: starts the embedded throwaway server and reports it. The benchmark engine
// replaces this body (issue: the benchmark engine and the athena-bench CLI).
async function main(): Promise<number> {
  process.stderr.write(
    'athena-bench: the benchmark engine is not built yet; checking the embedded MySQL only.\n',
  );
  const server = await startLocalServer();
  try {
    process.stdout.write(`started ${describeServer(server)}\n`);
  } finally {
    await server.stop();
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`athena-bench: ${errorMessage(error)}\n`);
    process.exit(error instanceof AthenaBenchError ? error.exitCode : 3);
  },
);
