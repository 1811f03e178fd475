// Certificates made from mirror URLs (certificate/compose.ts) and files named by URL
// (client/url-files.ts): what `get URL`, `--mirror`, `-i` URL lines and `cert init` build on.

import { describe, expect, it } from 'vitest';
import { certificateText, commandLineMirror, onTheFlyCertificate, serviceNameFor, type MirrorBase } from '../../src/certificate/compose.js';
import { parseCertificate } from '../../src/certificate/load.js';
import { DEFAULT_DIRECTOR } from '../../src/certificate/schema.js';
import { isFileUrl, parseFileUrl, planUrlFiles } from '../../src/client/url-files.js';

function base(text: string): MirrorBase {
  const m = commandLineMirror(text);
  if (typeof m === 'string') throw new Error(m);
  return m;
}

describe('a service from mirror URLs', () => {
  it('is named from its hosts: sorted, each once, the port when not 21, a long list shortened', () => {
    const name = (...urls: string[]) => serviceNameFor(urls.map((u) => base(u).parsed));
    expect(name('ftp://b.example/pub', 'ftp://A.example/x', 'ftp://b.example/other')).toBe('urls:a.example+b.example');
    expect(name('ftp://127.0.0.1:2121/pub', 'ftps://[::1]/pub')).toBe('urls:127.0.0.1:2121+[::1]');
    const many = name(...Array.from({ length: 20 }, (_, i) => `ftp://mirror${i}.example.org/pub`));
    expect(many).toMatch(/^urls:mirror0\.example\.org\+19-more-[0-9a-f]{8}$/);
  });

  it('reads back through the certificate checks: default director, two directories on one server named apart, a user kept', () => {
    const cert = onTheFlyCertificate(
      [base('ftp://127.0.0.1:2121/pub'), base('ftp://127.0.0.1:2121/mirror/pub'), base('ftp://alice@b.example/pub'), base('ftp://127.0.0.1:2121/pub/')],
      '--mirror',
    );
    expect(cert.director).toEqual(DEFAULT_DIRECTOR);
    expect(cert.mirrors.map((m) => [m.name, m.basePath, m.user])).toEqual([
      ['127.0.0.1:2121/pub/', '/pub/', undefined],
      ['127.0.0.1:2121/mirror/pub/', '/mirror/pub/', undefined],
      ['b.example:21', '/pub/', 'alice'],
    ]);
    expect(cert.origin).toBe('--mirror');
  });

  it("cert init's text: awkward URLs quoted, a note kept on one comment line, and `cert check` reads the same mirrors", () => {
    const mirrors = [base('ftp://h.example/a dir/x: y'), base('ftp://h.example:2121/pub')];
    const text = certificateText({ service: 'my: service', mirrors, header: ['top'], notes: [['reachable\nrm -rf /'], []] });
    expect(text).toContain('  # reachable\\nrm -rf /\n');
    const cert = parseCertificate(text, 'x.yaml');
    expect(cert.service).toBe('my: service');
    expect(cert.mirrors.map((m) => m.basePath)).toEqual(['/a dir/x: y/', '/pub/']);
  });

  it('a password is refused with the command-line hint', () => {
    expect(commandLineMirror('ftp://u:pw@h/pub')).toBe(
      'the URL contains a password; passwords are not given on the command line: put the login in ~/.netrc, or use a certificate whose mirror has password_env',
    );
  });
});

describe("a file's URL", () => {
  it('is a mirror (its directory) and a name (decoded)', () => {
    const f = parseFileUrl('ftp://alice@h.example:2121/pub/linux/x%20y.iso');
    expect(f).toMatchObject({ file: 'x y.iso', mirror: { text: 'ftp://alice@h.example:2121/pub/linux/', parsed: { basePath: '/pub/linux/', user: 'alice', port: 2121 } } });
    expect(parseFileUrl('ftps://h/x.iso')).toMatchObject({ file: 'x.iso', mirror: { parsed: { protocol: 'ftps', basePath: '/' } } });
  });

  it('that names no file is refused', () => {
    for (const url of ['ftp://h', 'ftp://h/', 'ftp://h/pub/', 'ftp://h/pub/.', 'ftp://h/pub/..']) expect(parseFileUrl(url)).toMatch(/^it names a directory, not a file/);
    expect(isFileUrl('http://h/x.iso')).toBe(true);
    expect(isFileUrl('pub/x.iso')).toBe(false);
    expect(parseFileUrl('http://h/x.iso')).toBe("unsupported scheme 'http://'; expected ftp:// or ftps://");
  });
});

describe('files given by URL', () => {
  it('are grouped by the mirrors that hold them, in whatever order a line gives them', () => {
    const plan = planUrlFiles([
      { urls: ['ftp://a/pub/x.iso', 'ftp://b/m/x.iso'], where: 'l line 1' },
      { urls: ['ftp://b/m/y.iso', 'ftp://a/pub/y.iso', 'ftp://a/pub/y.iso'], where: 'l line 2' },
      { urls: ['ftp://c/z.iso'] },
    ]);
    expect(plan.problems).toEqual([]);
    expect(plan.names).toEqual(['x.iso', 'y.iso', 'z.iso']);
    expect(plan.groups.map((g) => [g.mirrors.map((m) => m.text), g.entries])).toEqual([
      [['ftp://a/pub/', 'ftp://b/m/'], [0, 1]],
      [['ftp://c/'], [2]],
    ]);
  });

  it('a line naming different files, or a bad URL, is a problem naming where it was', () => {
    const plan = planUrlFiles([
      { urls: ['ftp://a/pub/x.iso', 'ftp://b/m/y.iso'], where: 'l line 3' },
      { urls: ['ftp://u:pw@a/pub/x.iso'], where: 'l line 4' },
    ]);
    expect(plan.names).toEqual(['', '']);
    expect(plan.problems).toEqual([
      'l line 3: the URLs name different files ("x.iso", "y.iso"); the URLs of a line are mirrors of one file',
      expect.stringMatching(/^l line 4: ftp:\/\/u:\*\*\*@a\/pub\/x\.iso: the URL contains a password; /),
    ]);
  });
});
