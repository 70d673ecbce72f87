// GitHub Action entry point: filled in by the Action issue.
process.stderr.write('athena-bench action: not implemented yet\n');
process.exit(1);
