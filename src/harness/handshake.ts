import net from 'node:net';

export type HandshakeProbe =
  | { ok: true; kind: 'handshake'; serverVersion: string }
  | { ok: true; kind: 'error'; message: string }
  | { ok: false; reason: string };

/**
 * Connects to host:port and reads the server's first MySQL packet: a v10 handshake (protocol byte
 * 10) or an ERR packet (0xff: the server answers, e.g. "too many connections"). Either means a
 * MySQL-speaking process is listening, which a bare TCP accept does not prove (a proxy may accept
 * before its backend pool is up). The connection is closed without authenticating.
 */
export function probeMysqlHandshake(host: string, port: number, timeoutMs = 2000): Promise<HandshakeProbe> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    let buffer = Buffer.alloc(0);
    let settled = false;
    const done = (result: HandshakeProbe) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => done({ ok: false, reason: `no handshake within ${timeoutMs} ms` }));
    socket.on('error', (error) => done({ ok: false, reason: error.message }));
    socket.on('close', () => done({ ok: false, reason: 'connection closed before a handshake packet' }));
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (buffer.length < 4) return;
      const length = buffer.readUIntLE(0, 3);
      if (buffer.length < 4 + length) return;
      done(parseFirstPacket(buffer.subarray(4, 4 + length)));
    });
  });
}

export function parseFirstPacket(payload: Buffer): HandshakeProbe {
  const first = payload[0];
  if (first === 10) {
    const end = payload.indexOf(0, 1);
    return {
      ok: true,
      kind: 'handshake',
      serverVersion: payload.subarray(1, end < 0 ? undefined : end).toString('utf8'),
    };
  }
  if (first === 0xff) {
    // ERR: 0xff, error code (2 bytes), then '#' + SQL state (5 bytes) when present, then the message.
    const code = payload.length >= 3 ? payload.readUInt16LE(1) : 0;
    const rest = payload.subarray(3).toString('utf8');
    return {
      ok: true,
      kind: 'error',
      message: `${code} ${rest.startsWith('#') ? rest.slice(6) : rest}`.trim(),
    };
  }
  return {
    ok: false,
    reason: `the first packet is not a MySQL handshake (protocol byte ${first === undefined ? 'missing' : `0x${first.toString(16)}`})`,
  };
}
