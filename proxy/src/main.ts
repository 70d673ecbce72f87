process.stderr.write('athena: not implemented yet\n');
process.exit(1);
