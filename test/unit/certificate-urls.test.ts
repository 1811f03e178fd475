import { describe, expect, it } from 'vitest';
import { CertificateError } from '../../src/certificate/load.js';
import { parseMirrorUrl } from '../../src/certificate/schema.js';
import { bootstrapCertificate, FileSource, sourceFor } from '../../src/certificate/sources.js';
import { FILE, problemsOf } from '../helpers/cert-problems.js';

function sourceError(spec: string): CertificateError {
  try {
    sourceFor(spec);
  } catch (err) {
    expect(err).toBeInstanceOf(CertificateError);
    return err as CertificateError;
  }
  throw new Error(`expected ${JSON.stringify(spec)} to be refused`);
}

describe('mirror URLs with control characters', () => {
  it('refuses CR, LF, NUL, TAB, DEL and other controls, naming the first', () => {
    expect(parseMirrorUrl('ftp://h/pub\r\nDELE x')).toBe('the URL contains a control character (CR (U+000D) at character 12)');
    expect(parseMirrorUrl('ftp://h\n/pub')).toMatch(/LF \(U\+000A\) at character 8/);
    expect(parseMirrorUrl('ftp://h/\u0000')).toMatch(/NUL/);
    expect(parseMirrorUrl('ftp://h/\t')).toMatch(/TAB/);
    expect(parseMirrorUrl('ftp://h/\u007f')).toMatch(/DEL/);
    expect(parseMirrorUrl('ftp://h/\u001b[2J')).toMatch(/ESC/);
  });

  it('refuses control characters hidden in percent-encoding, in the path and the user name', () => {
    expect(parseMirrorUrl('ftp://h/pub%0D%0ADELE%20x')).toBe('the path contains an encoded control character (CR (U+000D) at character 5)');
    expect(parseMirrorUrl('ftp://bob%0A@h/')).toMatch(/^the user name contains an encoded control character \(LF/);
  });

  it('refuses spaces in the host, encoded or not', () => {
    expect(parseMirrorUrl('ftp://bad host/')).toMatch(/invalid host/);
    expect(parseMirrorUrl('ftp://bad%20host/')).toMatch(/invalid host/);
    expect(parseMirrorUrl('ftp:// h/')).toMatch(/invalid host/);
  });

  it('reports a URL with CR/LF in a certificate at its line and key', () => {
    const [p, ...rest] = problemsOf('service: s\nmirrors:\n  - url: "ftp://h/pub\\r\\nDELE x"\n');
    expect(rest).toEqual([]);
    expect(p).toMatchObject({ file: FILE, line: 3, column: 10, key: 'mirrors[0].url', message: /control character \(CR/ });
  });
});

describe('passwords in URLs are never repeated', () => {
  it('masks a password in a URL that is not even a URL', () => {
    expect(parseMirrorUrl('ftp:/alice:s3cret@h/pub')).toBe('not a URL: "ftp:/***@h/pub"; expected ftp://host[:port]/path');
    expect(parseMirrorUrl('alice:s3@cret@h')).toBe('not a URL: "alice:***@h"; expected ftp://host[:port]/path');
    expect(parseMirrorUrl('not a url')).toBe('not a URL: "not a url"; expected ftp://host[:port]/path');
  });

  it('masks any password in a problem: its file (origin) and its message', () => {
    const err = new CertificateError([{ file: 'https://u:s3cret@h/m.yaml', line: 0, column: 0, key: '', message: 'fetch ftp://u:s3cret@h/ failed' }]);
    expect(err.message).toBe('https://u:***@h/m.yaml: fetch ftp://u:***@h/ failed');
    expect(err.problems[0]).toMatchObject({ file: 'https://u:***@h/m.yaml', message: 'fetch ftp://u:***@h/ failed' });
    expect(problemsOf('service: [\n', 'ftp://u:s3cret@h/m.yaml')[0]!.file).toBe('ftp://u:***@h/m.yaml');
  });
});

describe('certificate source URLs (--cert)', () => {
  it('refuses control characters, bad hosts and passwords at once, with the URL masked and escaped', () => {
    expect(sourceError('http://127.0.0.1/m.yaml\r\nHost: x').message).toBe(
      'http://127.0.0.1/m.yaml\\r\\nHost: x: the URL contains a control character (CR (U+000D) at character 24)',
    );
    expect(sourceError('ftp://127.0.0.1/m.yaml\n').message).toMatch(/control character \(LF/);
    expect(sourceError('ftp://bad host/m.yaml').message).toMatch(/invalid host/);
    expect(sourceError('http://bad host/m.yaml').message).toMatch(/not a valid http\(s\) URL/);
    for (const spec of ['ftp://alice:s3cret@127.0.0.1/m.yaml', 'https://alice:s3cret@127.0.0.1/m.yaml']) {
      const message = sourceError(spec).message;
      expect(message).toContain('alice:***@127.0.0.1');
      expect(message).toContain('contains a password');
      expect(message).not.toContain('s3cret');
    }
  });

  it('takes ordinary URLs and file names as before', () => {
    expect(sourceFor('ftp://127.0.0.1:2121/pub/m.yaml').origin).toBe('ftp://127.0.0.1:2121/pub/m.yaml');
    expect(sourceFor('https://example.org/m.yaml').origin).toBe('https://example.org/m.yaml');
    expect(sourceFor('mirrors.yaml')).toBeInstanceOf(FileSource);
  });

  it('refuses a bad source before reading any, even after a good one', async () => {
    const bad = bootstrapCertificate(['no-such-file.yaml', 'http://h/m.yaml\r\n']);
    await expect(bad).rejects.toThrow(/control character/);
  });
});
