// The hostile server really misbehaves: each option is checked against basic-ftp's Client (what
// smartftp talks through) or, where the client would hide it, against a raw control socket.

import { Client, FTPError } from 'basic-ftp';
import net from 'node:net';
import { Writable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { cleanupAfterEach } from '../helpers/cleanup.js';
import { content, MTIME } from '../helpers/fixtures.js';
import { startHostileFtpd, type HostileFtpd, type HostileOptions } from '../helpers/hostile-ftpd.js';

const t = cleanupAfterEach();
const data = content(100_000, 3);
const PATH = '/pub/f.bin';

async function hostile(options: HostileOptions = {}): Promise<HostileFtpd> {
  return t.track(await startHostileFtpd({ ...options, files: { [PATH]: data, ...options.files } }));
}

async function client(server: HostileFtpd, password = 'pw', timeoutMs = 5000): Promise<Client> {
  const c = t.track(new Client(timeoutMs));
  await c.access({ host: server.host, port: server.port, user: 'u', password });
  return c;
}

/** A download into memory; `onBytes` sees the running count (to stop an endless one). */
async function download(c: Client, path = PATH, startAt = 0, onBytes?: (n: number) => void) {
  const parts: Buffer[] = [];
  let n = 0;
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      n += chunk.length;
      // Endless floods are only counted, never kept.
      if (n <= 10 * data.length) parts.push(chunk);
      onBytes?.(n);
      done();
    },
  });
  const res = await c.downloadTo(sink, path, startAt);
  return { bytes: Buffer.concat(parts), n, code: res.code };
}

/** A control connection by hand, for what basic-ftp would hide (byte timing, endless replies). */
function raw(server: HostileFtpd) {
  const sock = net.connect(server.port, server.host);
  t.track({ close: () => sock.destroy() });
  const chunks: Buffer[] = [];
  sock.on('data', (d: Buffer) => chunks.push(d));
  sock.on('error', () => {});
  const text = (): string => Buffer.concat(chunks).toString('latin1');
  return {
    chunks,
    text,
    send: (line: string) => sock.write(line + '\r\n'),
    /** Waits (bounded) until the text received matches. */
    async until(re: RegExp, ms = 3000): Promise<string> {
      for (const end = Date.now() + ms; !re.test(text()); await delay(5)) {
        if (Date.now() > end) throw new Error(`no ${re} in ${JSON.stringify(text().slice(-200))}`);
      }
      return text();
    },
  };
}

/** Races p with a timer: 'pending' when p has not settled after ms. */
async function stillPending(p: Promise<unknown>, ms: number): Promise<boolean> {
  p.catch(() => {});
  return (await Promise.race([p.then(() => 'settled', () => 'settled'), delay(ms).then(() => 'pending')])) === 'pending';
}

describe('honest by default', () => {
  it('logs anyone in, tells SIZE and MDTM, serves RETR, REST, LIST and a forged membership file, and records the commands', async () => {
    const membership = Buffer.from('service: forged.example\nmirrors:\n  - url: ftp://127.0.0.1:1/\n');
    const server = await hostile({ files: { 'membership.yaml': membership } });
    const c = await client(server, 'secret');
    expect(await c.size(PATH)).toBe(data.length);
    expect((await c.lastMod(PATH))?.getTime()).toBe(MTIME.getTime());
    const whole = await download(c);
    expect(whole.code).toBe(226);
    expect(whole.bytes.equals(data)).toBe(true);
    expect((await download(c, PATH, 1000)).bytes.equals(data.subarray(1000))).toBe(true);
    expect((await download(c, '/membership.yaml')).bytes.equals(membership)).toBe(true);
    expect((await c.list('/pub')).map((f) => [f.name, f.size])).toEqual([['f.bin', data.length]]);
    await expect(c.size('/missing')).rejects.toMatchObject({ code: 550 });
    await expect(c.send('XYZZY')).rejects.toMatchObject({ code: 502 });
    await c.send('NOOP');
    expect(server.stats.sessions).toBe(1);
    expect(server.stats.commands).toEqual(expect.arrayContaining(['USER u', 'PASS secret', 'TYPE I', 'OPTS UTF8 ON', `SIZE ${PATH}`, 'EPSV', 'REST 1000']));
    expect(server.stats.retrs).toBe(3);
    expect(server.stats.bytesSent).toBeGreaterThanOrEqual(2 * data.length - 1000 + membership.length);
  });

  it('answers PASV with its own data port and QUIT with 221', async () => {
    const server = await hostile();
    const r = raw(server);
    r.send('USER u');
    r.send('PASS p');
    r.send('PASV');
    const m = /227 Entering Passive Mode \(127,0,0,1,(\d+),(\d+)\)/.exec(await r.until(/227 .*\)/));
    const dataSock = net.connect(Number(m![1]) * 256 + Number(m![2]), server.host);
    t.track({ close: () => dataSock.destroy() });
    const received: Buffer[] = [];
    dataSock.on('data', (d: Buffer) => received.push(d));
    await new Promise((resolve) => dataSock.once('connect', resolve));
    r.send(`RETR ${PATH}`);
    await new Promise((resolve) => dataSock.once('end', resolve));
    r.send('QUIT');
    await r.until(/226 .*\r\n221 /s);
    expect(Buffer.concat(received).equals(data)).toBe(true);
  });
});

describe('lies about the size', () => {
  it('sizeReply: a 400-digit SIZE parses to Infinity, -5 and 1e3 parse as they are, and a function sees the path', async () => {
    const cases: [HostileOptions['sizeReply'], number][] = [
      ['213 ' + '9'.repeat(400), Infinity],
      ['213 -5', -5],
      ['213 1e3', 1],
      [(path, size) => `213 ${path === PATH ? size! * 2 : 0}`, 2 * data.length],
    ];
    for (const [sizeReply, expected] of cases) {
      const c = await client(await hostile({ sizeReply }));
      expect(await c.size(PATH)).toBe(expected);
    }
  });

  it('sizeDelta: SIZE says the real size plus N', async () => {
    const c = await client(await hostile({ sizeDelta: 7 }));
    expect(await c.size(PATH)).toBe(data.length + 7);
  });
});

describe('lies in the data', () => {
  it('body: other bytes of the same length under an honest SIZE', async () => {
    const other = content(data.length, 99);
    const c = await client(await hostile({ body: { [PATH]: other } }));
    expect(await c.size(PATH)).toBe(data.length);
    const got = await download(c);
    expect(got.bytes.equals(other)).toBe(true);
    expect(got.bytes.equals(data)).toBe(false);
  });

  it('shortBy: ends N bytes early and still says 226', async () => {
    const c = await client(await hostile({ shortBy: 1000 }));
    const got = await download(c);
    expect(got.code).toBe(226);
    expect(got.bytes.equals(data.subarray(0, data.length - 1000))).toBe(true);
  });

  it('extraBytes: sends N bytes past the end of the file', async () => {
    const c = await client(await hostile({ extraBytes: 5000 }));
    const got = await download(c);
    expect(got.n).toBe(data.length + 5000);
    expect(got.bytes.subarray(0, data.length).equals(data)).toBe(true);
  });

  it("extraBytes 'endless': floods until close(), which ends it promptly", async () => {
    const server = await hostile({ extraBytes: 'endless' });
    const c = await client(server);
    let closed: Promise<void> | undefined;
    const started = Date.now();
    const flood = download(c, PATH, 0, (n) => {
      if (n > 8 * 1024 * 1024) closed ??= server.close();
    });
    await expect(flood).rejects.toThrow();
    await closed;
    expect(server.stats.bytesSent).toBeGreaterThan(8 * 1024 * 1024);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('noRest: a resumed RETR is refused with a 502 FTPError', async () => {
    const c = await client(await hostile({ noRest: true }));
    const err: unknown = await download(c, PATH, 10).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FTPError);
    expect(err).toMatchObject({ code: 502, message: expect.stringContaining("'REST' not implemented") });
  });

  it('dataRate: a slowloris trickles a few bytes a second', async () => {
    const server = await hostile({ dataRate: 20 });
    const c = await client(server);
    let n = 0;
    download(c, PATH, 0, (count) => (n = count)).catch(() => {});
    await delay(500);
    // 20 B/s for half a second: about 10 bytes, whatever the load.
    expect(n).toBeGreaterThanOrEqual(2);
    expect(n).toBeLessThanOrEqual(15);
    expect(server.stats.retrs).toBe(1);
  });

  it('pasvTo: the data connection goes to another server, whose bytes the client takes', async () => {
    let visits = 0;
    const other = t.track(net.createServer((s) => {
      visits++;
      s.end('ELSEWHERE');
    }));
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    const otherPort = (other.address() as net.AddressInfo).port;
    const c = await client(await hostile({ pasvTo: () => otherPort }));
    const got = await download(c);
    expect(got.bytes.toString()).toBe('ELSEWHERE');
    expect(visits).toBe(1);
  });
});

describe('silence, trickles and endless replies', () => {
  it('silentOn SIZE: client.size waits until close()', async () => {
    const server = await hostile({ silentOn: ['SIZE'] });
    const c = await client(server);
    const size = c.size(PATH);
    expect(await stillPending(size, 300)).toBe(true);
    await server.close();
    await expect(size).rejects.toThrow();
  });

  it('silentOn greeting: access waits for a greeting that never comes', async () => {
    const server = await hostile({ silentOn: ['greeting'] });
    const c = t.track(new Client(5000));
    const access = c.access({ host: server.host, port: server.port });
    expect(await stillPending(access, 300)).toBe(true);
    await server.close();
    await expect(access).rejects.toThrow();
  });

  it('trickle: the greeting arrives one byte at a time', async () => {
    const server = await hostile({ trickle: ['greeting'], trickleMs: 25, greeting: '220 slow' });
    const r = raw(server);
    const started = Date.now();
    expect(await r.until(/\r\n/)).toBe('220 slow\r\n');
    expect(Date.now() - started).toBeGreaterThanOrEqual(9 * 25 - 10);
    // Ten bytes, 25 ms apart: they come as (nearly) ten separate reads.
    expect(r.chunks.length).toBeGreaterThanOrEqual(6);
  });

  // What basic-ftp 6.2.6 makes of it: it parses each read on its own and drops an incomplete line,
  // so a reply in pieces is lost, or cut short where a piece happens to look like a whole reply.
  it('trickle: basic-ftp loses a SIZE reply sent byte by byte (size() times out)', async () => {
    const server = await hostile({ trickle: ['SIZE'], trickleMs: 5 });
    const c = await client(server, 'pw', 400);
    await expect(c.size(PATH)).rejects.toThrow(/Timeout/);
    expect(server.stats.commands).toContain(`SIZE ${PATH}`);
  });

  it("trickleBytes: '213 100000' split after '213 10' is read by basic-ftp as size 10", async () => {
    const c = await client(await hostile({ trickle: ['SIZE'], trickleMs: 30, trickleBytes: 6 }));
    expect(await c.size(PATH)).toBe(10);
  });

  it('endlessMultiline: 213- lines keep coming and the reply never ends', async () => {
    const server = await hostile({ endlessMultiline: 'SIZE' });
    const r = raw(server);
    r.send(`SIZE ${PATH}`);
    await delay(300);
    const lines = r.text().split('\r\n');
    expect(lines.filter((l) => l.startsWith('213-')).length).toBeGreaterThanOrEqual(10);
    expect(lines.some((l) => l.startsWith('213 '))).toBe(false);
    const c = await client(server);
    expect(await stillPending(c.send('SIZE /pub/f.bin'), 100)).toBe(true);
  });
});

describe('refusals', () => {
  it("loginReply: PASS is answered 530 as proftpd does when full, and the password is recorded", async () => {
    const server = await hostile({ loginReply: '530 Sorry, max 5 users -- try again later' });
    await expect(client(server, 'secret')).rejects.toMatchObject({ code: 530 });
    expect(server.stats.commands).toContain('PASS secret');
  });

  it('greeting: 421 Too many users, and the connection is closed', async () => {
    const server = await hostile({ greeting: '421 Too many users' });
    await expect(client(server)).rejects.toMatchObject({ code: 421 });
    const r = raw(server);
    await r.until(/421 Too many users\r\n/);
  });
});

describe('close()', () => {
  it('is prompt with a slowloris, an endless reply and a silent command running, and stops listening', async () => {
    const server = await hostile({ dataRate: 1, endlessMultiline: 'MDTM', silentOn: ['NOOP'] });
    const slow = await client(server);
    const transfer = download(slow).catch((e: unknown) => e);
    const r = raw(server);
    r.send(`MDTM ${PATH}`);
    await r.until(/213-/);
    const silent = (await client(server)).send('NOOP').catch((e: unknown) => e);
    const started = Date.now();
    await server.close();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await transfer).toBeInstanceOf(Error);
    expect(await silent).toBeInstanceOf(Error);
    const refused = net.connect(server.port, server.host);
    await expect(new Promise((_, reject) => refused.once('error', reject))).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});
