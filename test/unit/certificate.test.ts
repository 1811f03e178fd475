import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../src/certificate/duration.js';
import {
  CertificateError,
  loadCertificateFile,
  parseCertificate,
  type Problem,
} from '../../src/certificate/load.js';
import { closestKey, levenshtein, normalizeBasePath, parseMirrorUrl } from '../../src/certificate/schema.js';
import { FILE, onlyProblem, problemsOf } from '../helpers/cert-problems.js';
import type { Certificate } from '../../src/certificate/types.js';

function expectProblem(
  p: Problem,
  want: { line: number; column?: number; key: string; message: string | RegExp },
): void {
  expect(p.file).toBe(FILE);
  expect(p.line).toBe(want.line);
  if (want.column !== undefined) expect(p.column).toBe(want.column);
  expect(p.key).toBe(want.key);
  if (typeof want.message === 'string') expect(p.message).toContain(want.message);
  else expect(p.message).toMatch(want.message);
}

/** A valid certificate with one mirror whose body is `mirror` (indented as a list item). */
function withMirror(mirror: string): string {
  return `service: demo\nmirrors:\n${mirror}\n`;
}

const FULL = `service: demo.smartftp.example
ttl: 1h
membership: MIRRORS.yaml
director:
  policy: ordered
  stall_timeout: 1.5s
  connect_timeout: 500ms
mirrors:
  - url: ftp://127.0.0.1:2121/pub
    name: local-a
    max_connections: 3
    user: alice
    password_env: MIRROR_A_PASSWORD
  - ftps://bob@Mirror.Example.ORG/a//b
  - url: ftp://[::1]
`;

describe('parseCertificate: valid certificates', () => {
  it('parses a full example to exactly the expected certificate', () => {
    const expected: Certificate = {
      service: 'demo.smartftp.example',
      ttl: 3600,
      membershipPath: 'MIRRORS.yaml',
      director: { policy: 'ordered', stallTimeout: 1.5, connectTimeout: 0.5 },
      mirrors: [
        {
          name: 'local-a',
          url: 'ftp://127.0.0.1:2121/pub',
          protocol: 'ftp',
          host: '127.0.0.1',
          port: 2121,
          basePath: '/pub/',
          maxConnections: 3,
          user: 'alice',
          passwordEnv: 'MIRROR_A_PASSWORD',
        },
        {
          name: 'mirror.example.org:21',
          url: 'ftps://Mirror.Example.ORG/a//b',
          protocol: 'ftps',
          host: 'mirror.example.org',
          port: 21,
          basePath: '/a/b/',
          maxConnections: 2,
          user: 'bob',
        },
        {
          name: '[::1]:21',
          url: 'ftp://[::1]',
          protocol: 'ftp',
          host: '::1',
          port: 21,
          basePath: '/',
          maxConnections: 2,
        },
      ],
      origin: FILE,
    };
    expect(parseCertificate(FULL, FILE)).toStrictEqual(expected);
  });

  it('fills in defaults for a minimal certificate', () => {
    const cert = parseCertificate('service: s\nmirrors: [ftp://h.example]\n', 'x.yaml');
    expect(cert).toStrictEqual({
      service: 's',
      origin: 'x.yaml',
      director: { policy: 'ranked', stallTimeout: 10, connectTimeout: 10 },
      mirrors: [
        {
          name: 'h.example:21',
          url: 'ftp://h.example',
          protocol: 'ftp',
          host: 'h.example',
          port: 21,
          basePath: '/',
          maxConnections: 2,
        },
      ],
    });
  });

  it('takes the user from the URL and leaves the credentials out of the stored URL', () => {
    const cert = parseCertificate(withMirror('  - url: ftp://alice@h/pub/\n    user: alice'), FILE);
    expect(cert.mirrors[0]).toMatchObject({ user: 'alice', url: 'ftp://h/pub/', basePath: '/pub/' });
  });

  it('accepts durations as plain numbers of seconds, and ttl 0', () => {
    const cert = parseCertificate(
      'service: s\nttl: 0\ndirector: {stall_timeout: 2.5, connect_timeout: 2m}\nmirrors: [ftp://h]\n',
      FILE,
    );
    expect(cert.ttl).toBe(0);
    expect(cert.director).toEqual({ policy: 'ranked', stallTimeout: 2.5, connectTimeout: 120 });
  });

  it('follows YAML aliases', () => {
    const text = 'service: s\nmirrors:\n  - &a {url: "ftp://h/", max_connections: 4}\n  - {url: "ftp://g/"}\n';
    expect(parseCertificate(text, FILE).mirrors.map((m) => m.maxConnections)).toEqual([4, 2]);
  });
});

describe('parseCertificate: problems', () => {
  it('reports a YAML syntax error at the position the yaml library gives', () => {
    expectProblem(onlyProblem('service: "demo\nmirrors: []\n'), {
      line: 3,
      column: 1,
      key: '',
      message: 'Missing closing "quote',
    });
    expectProblem(onlyProblem('service: demo\n\tmirrors: []\n'), {
      line: 2,
      column: 1,
      key: '',
      message: 'Tabs are not allowed',
    });
  });

  it('reports more than one YAML document', () => {
    expectProblem(onlyProblem('service: s\n---\nservice: t\n'), {
      line: 2,
      column: 1,
      key: '',
      message: 'more than one YAML document',
    });
  });

  it('reports a top level that is not a mapping', () => {
    expectProblem(onlyProblem('- ftp://h/\n'), {
      line: 1,
      column: 1,
      key: '',
      message: 'expected a mapping at the top level, got a list',
    });
    expectProblem(onlyProblem('\n\n"just text"\n'), {
      line: 3,
      column: 1,
      key: '',
      message: 'got "just text"',
    });
  });

  it('reports an empty file', () => {
    expectProblem(onlyProblem('# nothing here\n'), { line: 1, column: 1, key: '', message: 'empty' });
  });

  it('reports missing required keys at the parent mapping', () => {
    const problems = problemsOf('\nttl: 1h\n');
    expect(problems).toHaveLength(2);
    expectProblem(problems[0]!, { line: 2, column: 1, key: 'service', message: "missing required key 'service'" });
    expectProblem(problems[1]!, { line: 2, column: 1, key: 'mirrors', message: "missing required key 'mirrors'" });

    expectProblem(onlyProblem(withMirror('  - name: a\n    user: bob')), {
      line: 3,
      column: 5,
      key: 'mirrors[0].url',
      message: "missing required key 'url'",
    });
  });

  it('takes checksum file names, one or a list, and names the line of one that is a path', () => {
    expect(parseCertificate('service: s\nchecksums: SHA256SUMS\nmirrors: [ftp://h]\n', FILE).checksumFiles).toEqual(['SHA256SUMS']);
    const both = parseCertificate('service: s\nchecksums: [SHA256SUMS, md5checksums.txt]\nmirrors: [ftp://h]\n', FILE);
    expect(both.checksumFiles).toEqual(['SHA256SUMS', 'md5checksums.txt']);
    expectProblem(onlyProblem('service: s\nchecksums:\n  - SHA256SUMS\n  - ../x\nmirrors: [ftp://h]\n'), {
      line: 4,
      column: 5,
      key: 'checksums',
      message: "expected a file name such as SHA256SUMS (looked up in each file's directory), got \"../x\"",
    });
  });

  it('reports unknown keys and suggests the closest valid one', () => {
    expectProblem(onlyProblem('service: s\ndirector:\n  stall_timout: 5\nmirrors: [ftp://h]\n'), {
      line: 3,
      column: 3,
      key: 'director.stall_timout',
      message: "unknown key 'stall_timout'; did you mean 'stall_timeout'?",
    });
    expectProblem(onlyProblem(withMirror('  - url: ftp://h\n    maxConnections: 3')), {
      line: 4,
      column: 5,
      key: 'mirrors[0].maxConnections',
      message: "did you mean 'max_connections'?",
    });
    const far = onlyProblem('service: s\ncolour: red\nmirrors: [ftp://h]\n');
    expectProblem(far, { line: 2, column: 1, key: 'colour', message: "unknown key 'colour'" });
    expect(far.message).not.toContain('did you mean');
  });

  it('rejects a password key with a hint about password_env and ~/.netrc', () => {
    const p = onlyProblem(withMirror('  - url: ftp://h\n    user: bob\n    password: hunter2'));
    expectProblem(p, { line: 5, column: 5, key: 'mirrors[0].password', message: "unknown key 'password'" });
    expect(p.message).toContain('password_env');
    expect(p.message).toContain('~/.netrc');
    expect(p.message).not.toContain('hunter2');
  });

  it('reports wrong types with the value found', () => {
    expectProblem(onlyProblem(withMirror('  - url: ftp://h\n    max_connections: two')), {
      line: 4,
      column: 22,
      key: 'mirrors[0].max_connections',
      message: 'expected an integer >= 1, got "two"',
    });
    expectProblem(onlyProblem(withMirror('  - url: ftp://h\n    max_connections: 0')), {
      line: 4,
      column: 22,
      key: 'mirrors[0].max_connections',
      message: 'expected an integer >= 1, got 0',
    });
    expectProblem(onlyProblem('service: [a, b]\nmirrors: [ftp://h]\n'), {
      line: 1,
      column: 10,
      key: 'service',
      message: 'expected a non-empty string, got a list',
    });
    expectProblem(onlyProblem('service: ""\nmirrors: [ftp://h]\n'), {
      line: 1,
      column: 10,
      key: 'service',
      message: 'expected a non-empty string, got ""',
    });
    expectProblem(onlyProblem('service: s\ndirector: fast\nmirrors: [ftp://h]\n'), {
      line: 2,
      column: 11,
      key: 'director',
      message: 'expected a mapping, got "fast"',
    });
    expectProblem(onlyProblem(withMirror('  - url: 21')), {
      line: 3,
      column: 10,
      key: 'mirrors[0].url',
      message: 'expected an ftp:// or ftps:// URL string, got 21',
    });
    expectProblem(onlyProblem(withMirror('  - 42')), {
      line: 3,
      column: 5,
      key: 'mirrors[0]',
      message: 'expected a mapping or an ftp:// URL string, got 42',
    });
    expectProblem(onlyProblem(withMirror('  - url: ftp://h\n    password_env: my-password')), {
      line: 4,
      column: 19,
      key: 'mirrors[0].password_env',
      message: 'expected the name of an environment variable',
    });
  });

  it('points at the key when a value is left empty', () => {
    expectProblem(onlyProblem('service:\nmirrors: [ftp://h]\n'), {
      line: 1,
      column: 1,
      key: 'service',
      message: 'got nothing',
    });
  });

  it('reports bad URLs', () => {
    const cases: Array<[string, string]> = [
      ['http://h/pub', "unsupported scheme 'http://'; expected ftp:// or ftps://"],
      ['not a url', 'not a URL'],
      ['ftp:///pub', 'missing host'],
      ['ftp://:2121/pub', 'missing host'],
      ['ftp://h:99999/', "invalid port '99999'"],
      ['ftp://h:port/', "invalid port 'port'"],
      ['ftp://bad host/', "invalid host 'bad host'"],
      ['ftp://[zz]/', 'invalid IPv6 address'],
      ['ftp://h/a?b', 'query or fragment'],
      ['ftp://h/%zz', 'percent-encoding'],
    ];
    for (const [url, message] of cases) {
      expectProblem(onlyProblem(withMirror(`  - url: "${url}"`)), { line: 3, column: 10, key: 'mirrors[0].url', message });
    }
  });

  it('rejects a password in the URL without repeating it', () => {
    const p = onlyProblem(withMirror('  - ftp://u:s3cret@h/pub'));
    expectProblem(p, { line: 3, column: 5, key: 'mirrors[0]', message: 'the URL contains a password' });
    expect(p.message).toContain('password_env');
    expect(p.message).toContain('~/.netrc');
    expect(p.message).not.toContain('s3cret');
  });

  it('reports a user key that contradicts the URL', () => {
    expectProblem(onlyProblem(withMirror('  - url: ftp://alice@h/\n    user: bob')), {
      line: 4,
      column: 11,
      key: 'mirrors[0].user',
      message: "user 'bob' differs from the user in the url ('alice')",
    });
  });

  it('reports a bad policy and lists the valid ones', () => {
    expectProblem(onlyProblem('service: s\ndirector:\n  policy: fastest\nmirrors: [ftp://h]\n'), {
      line: 3,
      column: 11,
      key: 'director.policy',
      message: 'unknown policy "fastest"; expected one of ranked, ordered, random',
    });
  });

  it('reports bad durations', () => {
    expectProblem(onlyProblem('service: s\nttl: soon\nmirrors: [ftp://h]\n'), {
      line: 2,
      column: 6,
      key: 'ttl',
      message: 'expected a duration such as 30, "500ms", "10s", "2m", "1h" or "1d", got "soon"',
    });
    expectProblem(onlyProblem('service: s\nttl: -5\nmirrors: [ftp://h]\n'), {
      line: 2,
      column: 6,
      key: 'ttl',
      message: 'expected a duration',
    });
    expectProblem(onlyProblem('service: s\ndirector:\n  stall_timeout: 0s\nmirrors: [ftp://h]\n'), {
      line: 3,
      column: 18,
      key: 'director.stall_timeout',
      message: 'must be greater than 0, got "0s"',
    });
    expectProblem(onlyProblem('service: s\ndirector:\n  connect_timeout: 10 sec\nmirrors: [ftp://h]\n'), {
      line: 3,
      column: 20,
      key: 'director.connect_timeout',
      message: 'got "10 sec"',
    });
  });

  it('reports an empty or missing mirror list', () => {
    expectProblem(onlyProblem('service: s\nmirrors: []\n'), {
      line: 2,
      column: 10,
      key: 'mirrors',
      message: 'the mirror list is empty',
    });
    expectProblem(onlyProblem('service: s\nmirrors:\n'), {
      line: 2,
      column: 1,
      key: 'mirrors',
      message: 'expected a list of mirrors, got nothing',
    });
    expectProblem(onlyProblem('service: s\nmirrors:\n  url: ftp://h\n'), {
      line: 3,
      column: 3,
      key: 'mirrors',
      message: 'expected a list of mirrors, got a mapping',
    });
  });

  it('reports duplicate mirror names, given or default', () => {
    const text = withMirror(
      '  - url: ftp://a/\n    name: one\n  - url: ftp://b/\n    name: one\n  - ftp://c/x\n  - ftp://c/y',
    );
    const problems = problemsOf(text);
    expect(problems).toHaveLength(2);
    expectProblem(problems[0]!, {
      line: 6,
      column: 11,
      key: 'mirrors[1].name',
      message: "duplicate mirror name 'one' (also mirrors[0])",
    });
    expectProblem(problems[1]!, {
      line: 8,
      column: 5,
      key: 'mirrors[3]',
      message: "duplicate mirror name 'c:21' (also mirrors[2]); mirrors on the same host and port need a name",
    });
  });

  it('reports duplicate keys at the repeated key', () => {
    expectProblem(onlyProblem('service: a\nmirrors: [ftp://h]\nservice: b\n'), {
      line: 3,
      column: 1,
      key: 'service',
      message: "duplicate key 'service' (first given on line 1)",
    });
    expectProblem(onlyProblem(withMirror('  - url: ftp://h\n    name: x\n    name: y')), {
      line: 5,
      column: 5,
      key: 'mirrors[0].name',
      message: "duplicate key 'name'",
    });
  });

  it('reports every problem in one file, in file order', () => {
    const text = `service: ""
ttl: soon
director:
  policy: fastest
  stall_timout: 5
mirrors:
  - url: http://x/
    max_connections: two
  - ftp://u:p@host/
`;
    const problems = problemsOf(text);
    expect(problems.map((p) => [p.line, p.key])).toEqual([
      [1, 'service'],
      [2, 'ttl'],
      [4, 'director.policy'],
      [5, 'director.stall_timout'],
      [7, 'mirrors[0].url'],
      [8, 'mirrors[0].max_connections'],
      [9, 'mirrors[1]'],
    ]);
  });

  it('formats the error message one problem per line as FILE:LINE:COL: KEY: MESSAGE', () => {
    try {
      parseCertificate('service: s\nttl: soon\nmirrors: [ftp://h, 42]\n', 'conf/m.yaml');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(CertificateError);
      expect((err as Error).message.split('\n')).toEqual([
        'conf/m.yaml:2:6: ttl: expected a duration such as 30, "500ms", "10s", "2m", "1h" or "1d", got "soon"',
        'conf/m.yaml:3:20: mirrors[1]: expected a mapping or an ftp:// URL string, got 42',
      ]);
    }
  });
});

describe('loadCertificateFile', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'smartftp-cert-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads and parses a file, with its path as origin', async () => {
    const path = join(dir, 'mirrors.yaml');
    await writeFile(path, FULL);
    const cert = await loadCertificateFile(path);
    expect(cert.origin).toBe(path);
    expect(cert.mirrors).toHaveLength(3);
  });

  it('names the file in problems', async () => {
    const path = join(dir, 'bad.yaml');
    await writeFile(path, 'service: s\n');
    await expect(loadCertificateFile(path)).rejects.toMatchObject({
      problems: [{ file: path, line: 1, column: 1, key: 'mirrors' }],
    });
  });

  it('gives one problem at line 0 with the OS reason for a missing file, in words (no errno text)', async () => {
    const path = join(dir, 'missing.yaml');
    const err = await loadCertificateFile(path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CertificateError);
    const problems = (err as CertificateError).problems;
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ file: path, line: 0, key: '' });
    expect(problems[0]!.message).toBe('cannot read the certificate: no such file or directory; check the name');
    expect((err as Error).message).toBe(`${path}: ${problems[0]!.message}`);
  });
});

describe('durations', () => {
  it('parses numbers and unit strings to seconds', () => {
    expect(parseDuration(30)).toBe(30);
    expect(parseDuration(0)).toBe(0);
    expect(parseDuration('500ms')).toBe(0.5);
    expect(parseDuration('10s')).toBe(10);
    expect(parseDuration('1.5s')).toBe(1.5);
    expect(parseDuration('2m')).toBe(120);
    expect(parseDuration('1h')).toBe(3600);
    expect(parseDuration('1d')).toBe(86400);
    expect(parseDuration('45')).toBe(45);
  });

  it('gives undefined for what is not a duration', () => {
    for (const bad of [-1, Number.NaN, Infinity, '', 'soon', '10 sec', '-1s', '1w', null, true]) {
      expect(parseDuration(bad)).toBeUndefined();
    }
  });

  it('formats durations so they parse back', () => {
    expect(formatDuration(0.5)).toBe('500ms');
    expect(formatDuration(10)).toBe('10s');
    expect(formatDuration(1.5)).toBe('1.5s');
    expect(formatDuration(120)).toBe('2m');
    expect(formatDuration(3600)).toBe('1h');
    expect(formatDuration(86400)).toBe('1d');
    expect(formatDuration(90)).toBe('90s');
    for (const s of [0, 0.001, 0.25, 1, 59, 61, 7200, 0.0005]) expect(parseDuration(formatDuration(s))).toBe(s);
  });
});

describe('helpers', () => {
  it('measures edit distance and suggests only close keys', () => {
    expect(levenshtein('stall_timout', 'stall_timeout')).toBe(1);
    expect(levenshtein('', 'abc')).toBe(3);
    expect(closestKey('mirror', ['service', 'mirrors'])).toBe('mirrors');
    expect(closestKey('colour', ['service', 'ttl', 'membership', 'director', 'mirrors'])).toBeUndefined();
  });

  it('normalizes base paths to start and end with "/"', () => {
    expect(normalizeBasePath('')).toBe('/');
    expect(normalizeBasePath('/')).toBe('/');
    expect(normalizeBasePath('/pub')).toBe('/pub/');
    expect(normalizeBasePath('/pub//x/./y/../')).toBe('/pub/x/');
  });

  it('parses mirror URLs', () => {
    expect(parseMirrorUrl('FTP://H:2121/a%20b')).toEqual({
      url: 'FTP://H:2121/a%20b',
      protocol: 'ftp',
      host: 'h',
      port: 2121,
      basePath: '/a b/',
    });
    expect(parseMirrorUrl('ftp://h:/')).toMatchObject({ port: 21 });
    expect(parseMirrorUrl('ftp://user%40x@h/')).toMatchObject({ user: 'user@x', url: 'ftp://h/' });
  });
});
