import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { InfrastructureError } from '../../util/errors.ts';
import { withDriverDir } from '../sandbox.ts';

/**
 * sysbench reads options from `--config-file` as `name=value` lines, so the MySQL password never
 * appears on its command line (where `ps` shows it to every user of the machine). The file lives in
 * sysbench's fresh private directory (0700, sandbox.ts), is written 0600 and removed as soon as
 * sysbench exits.
 *
 * sysbench 1.0's reader splits an unquoted value at whitespace and commas and ends a line at the
 * newline; a value in single or double quotes runs to the next same quote. So the password is
 * quoted with a quote it does not contain; one holding both quotes or a line break cannot be
 * written (and one longer than sysbench's line buffer would be cut).
 */

/** sysbench's config lines are read into a buffer of this many bytes (MAXSTRLEN in sb_options.h). */
const MAX_LINE_BYTES = 1024;

export function sysbenchPasswordLine(password: string): string {
  const quote = !password.includes("'") ? "'" : !password.includes('"') ? '"' : null;
  const line = quote === null ? null : `mysql-password=${quote}${password}${quote}\n`;
  if (line === null || /[\r\n\0]/.test(password) || Buffer.byteLength(line) >= MAX_LINE_BYTES) {
    throw new InfrastructureError(
      "sysbench: the MySQL password cannot be passed in sysbench's config file (it holds both quote " +
        'characters, a line break or a NUL byte, or is longer than 1,000 bytes); use another password',
    );
  }
  return line;
}

/**
 * Runs fn with the path of a 0600 sysbench config file holding the password, in a private
 * directory that is also sysbench's working directory (`dir`), then removes both.
 */
export async function withPasswordFile<T>(
  password: string,
  fn: (file: string, dir: string) => Promise<T>,
): Promise<T> {
  const line = sysbenchPasswordLine(password);
  return withDriverDir('sysbench', async (dir) => {
    const file = path.join(dir, 'sysbench.cfg');
    await writeFile(file, line, { mode: 0o600, flag: 'wx' });
    return fn(file, dir);
  });
}
