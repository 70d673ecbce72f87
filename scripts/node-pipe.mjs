// A bare Node TCP pipe in front of MySQL: every client connection gets its own server connection
// and the bytes are copied both ways through the stream API, nothing parsed. It is the floor a
// MySQL proxy written for Node is compared with (proxy/README.md, "Performance"). Run it as a
// proxy arm of athena-bench (--proxy-start), which sets the ATHENA_BENCH_* variables it reads.
import net from 'node:net';
import { z } from 'zod';

const port = z.coerce.number().int().min(1).max(65535);
const env = z
  .object({
    ATHENA_BENCH_PROXY_PORT: port,
    ATHENA_BENCH_MYSQL_HOST: z.string().min(1),
    ATHENA_BENCH_MYSQL_PORT: port,
  })
  .safeParse(process.env);
if (!env.success) {
  const issue = env.error.issues[0];
  process.stderr.write(
    `node-pipe: ${issue?.path.join('.')}: ${issue?.message} (expected a TCP port or a host)\n`,
  );
  process.exit(2);
}
const {
  ATHENA_BENCH_PROXY_PORT: listenPort,
  ATHENA_BENCH_MYSQL_HOST: host,
  ATHENA_BENCH_MYSQL_PORT: mysqlPort,
} = env.data;

net
  .createServer({ noDelay: true }, (client) => {
    const server = net.connect({ host, port: mysqlPort, noDelay: true });
    client.pipe(server);
    server.pipe(client);
    client.on('error', () => server.destroy());
    server.on('error', () => client.destroy());
    client.on('close', () => server.destroy());
    server.on('close', () => client.destroy());
  })
  .listen(listenPort, '127.0.0.1');
