/**
 * Real peers for the probers' tests: certificates made with the `openssl` command (Node cannot sign
 * certificates), and a minimal authoritative DNS server over UDP answering from a fixed table.
 */
import { execFileSync } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCerts {
  readonly dir: string;
  /** PEM of the CA that signed `cert`; its path is `caFile`. */
  readonly ca: string;
  readonly caFile: string;
  /** Leaf for localhost and 127.0.0.1, valid for `days` days. */
  readonly cert: string;
  readonly key: string;
  /** Unix seconds of the leaf's notAfter, as openssl reports it. */
  readonly leafExpiry: number;
  cleanup(): void;
}

function openssl(args: string[], cwd: string): string {
  return execFileSync('openssl', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** A CA valid for 30 days and a leaf it signed, valid for `days` days (the earliest expiry in the chain). */
export function makeTestCerts(days = 3): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-certs-'));
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(
    [
      'req',
      '-x509',
      ...ec,
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
      '-days',
      '30',
      '-subj',
      '/CN=Vigil Test CA',
    ],
    dir,
  );
  openssl(['req', ...ec, '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/CN=localhost'], dir);
  writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  openssl(
    [
      'x509',
      '-req',
      '-in',
      'leaf.csr',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'leaf.crt',
    ].concat(['-days', String(days), '-extfile', 'ext.cnf']),
    dir,
  );
  const end = openssl(['x509', '-in', 'leaf.crt', '-noout', '-enddate'], dir)
    .trim()
    .replace(/^notAfter=/, '');
  return {
    dir,
    ca: readFileSync(join(dir, 'ca.crt'), 'utf8'),
    caFile: join(dir, 'ca.crt'),
    cert: readFileSync(join(dir, 'leaf.crt'), 'utf8'),
    key: readFileSync(join(dir, 'leaf.key'), 'utf8'),
    leafExpiry: Date.parse(end) / 1000,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Answers of the test DNS server: name (lower case, no trailing dot) → type → records. */
export type DnsTable = Record<
  string,
  {
    A?: string[];
    AAAA?: string[];
    CNAME?: string;
    MX?: { priority: number; exchange: string }[];
    TXT?: string[];
  }
>;

const TYPE_CODES: Record<number, keyof DnsTable[string]> = {
  1: 'A',
  28: 'AAAA',
  5: 'CNAME',
  15: 'MX',
  16: 'TXT',
};

function encodeName(name: string): Buffer {
  const parts = name.split('.').filter(Boolean);
  return Buffer.concat([
    ...parts.map((p) => Buffer.concat([Buffer.from([p.length]), Buffer.from(p)])),
    Buffer.from([0]),
  ]);
}

function rdata(type: string, v: unknown): Buffer {
  switch (type) {
    case 'A':
      return Buffer.from((v as string).split('.').map(Number));
    case 'AAAA': {
      const [head, tail = ''] = (v as string).split('::');
      const h = head ? head.split(':') : [];
      const tl = tail ? tail.split(':') : [];
      const groups = [...h, ...Array<string>(8 - h.length - tl.length).fill('0'), ...tl];
      const b = Buffer.alloc(16);
      groups.forEach((g, i) => b.writeUInt16BE(parseInt(g, 16), i * 2));
      return b;
    }
    case 'CNAME':
      return encodeName(v as string);
    case 'MX': {
      const m = v as { priority: number; exchange: string };
      const p = Buffer.alloc(2);
      p.writeUInt16BE(m.priority);
      return Buffer.concat([p, encodeName(m.exchange)]);
    }
    default: {
      const s = Buffer.from(v as string);
      return Buffer.concat([Buffer.from([s.length]), s]);
    }
  }
}

/** A UDP DNS server on 127.0.0.1 answering from `table` (NXDOMAIN for unknown names). Close it with `close()`. */
export async function startTestDnsServer(table: DnsTable): Promise<{ port: number; close(): Promise<void> }> {
  const sock: Socket = createSocket('udp4');
  sock.on('message', (msg, rinfo) => {
    if (msg.length < 12) return;
    let pos = 12;
    const labels: string[] = [];
    while (pos < msg.length && msg[pos] !== 0) {
      const len = msg[pos]!;
      labels.push(msg.subarray(pos + 1, pos + 1 + len).toString());
      pos += len + 1;
    }
    pos += 1;
    const qtype = msg.readUInt16BE(pos);
    const question = msg.subarray(12, pos + 4);
    const name = labels.join('.').toLowerCase();
    const entry = table[name];
    const type = TYPE_CODES[qtype];
    const raw = entry && type ? entry[type] : undefined;
    const values = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
    const header = Buffer.alloc(12);
    header.writeUInt16BE(msg.readUInt16BE(0), 0);
    // QR, AA, RD copied; RCODE 3 (NXDOMAIN) for unknown names.
    header.writeUInt16BE(0x8400 | (msg.readUInt16BE(2) & 0x0100) | (entry ? 0 : 3), 2);
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(values.length, 6);
    const answers = values.map((v) => {
      const data = rdata(type!, v);
      const fixed = Buffer.alloc(12);
      fixed.writeUInt16BE(0xc00c, 0); // pointer to the question's name
      fixed.writeUInt16BE(qtype, 2);
      fixed.writeUInt16BE(1, 4);
      fixed.writeUInt32BE(60, 6);
      fixed.writeUInt16BE(data.length, 10);
      return Buffer.concat([fixed, data]);
    });
    sock.send(Buffer.concat([header, question, ...answers]), rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
  return {
    port: sock.address().port,
    close: () => new Promise<void>((resolve) => sock.close(() => resolve())),
  };
}
