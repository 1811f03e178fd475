import { describe, expect, it } from 'vitest';
import { aboveBound, BOUNDS, describeBound, MAX_TIMER_MS, timerMs } from '../../src/certificate/bounds.js';
import { parseCertificate } from '../../src/certificate/load.js';
import { FILE, onlyProblem, problemsOf } from '../helpers/cert-problems.js';

describe('bounds', () => {
  it('keeps every duration bound below what a timer can hold', () => {
    for (const key of ['stall_timeout', 'connect_timeout'] as const) expect(BOUNDS[key].max * 1000).toBeLessThan(MAX_TIMER_MS);
    expect(MAX_TIMER_MS).toBe(2147483647);
  });

  it('describes each range', () => {
    expect(describeBound(BOUNDS.stall_timeout)).toBe('more than 0 up to 1h');
    expect(describeBound(BOUNDS.ttl)).toBe('0 up to 30d');
    expect(describeBound(BOUNDS.max_connections)).toBe('1 to 64');
    expect(aboveBound(64, BOUNDS.max_connections)).toBeUndefined();
    expect(aboveBound(65, BOUNDS.max_connections)).toBe('out of range: allowed 1 to 64');
  });

  it('clamps a delay to what a timer can hold', () => {
    expect(timerMs(1.5)).toBe(1500);
    expect(timerMs(30 * 86400)).toBe(MAX_TIMER_MS);
    expect(timerMs(1e308)).toBe(MAX_TIMER_MS);
    expect(timerMs(-1)).toBe(0);
  });
});

describe('parseCertificate: values beyond their bounds', () => {
  it('accepts the largest allowed values', () => {
    const cert = parseCertificate(
      'service: s\nttl: 30d\ndirector:\n  stall_timeout: 1h\n  connect_timeout: 3600\nmirrors:\n  - url: ftp://h:65535/\n    max_connections: 64\n',
      FILE,
    );
    expect(cert.ttl).toBe(30 * 86400);
    expect(cert.director).toMatchObject({ stallTimeout: 3600, connectTimeout: 3600 });
    expect(cert.mirrors[0]).toMatchObject({ port: 65535, maxConnections: 64 });
  });

  it('reports 1e308 durations and counts with file, line, key and the allowed range', () => {
    const problems = problemsOf(
      'service: s\nttl: 1e308\ndirector:\n  stall_timeout: 1e308\n  connect_timeout: 2h\nmirrors:\n  - url: ftp://h/\n    max_connections: 1e308\n',
    );
    expect(problems).toEqual([
      { file: FILE, line: 2, column: 6, key: 'ttl', message: 'out of range: allowed 0 up to 30d, got 1e+308' },
      { file: FILE, line: 4, column: 18, key: 'director.stall_timeout', message: 'out of range: allowed more than 0 up to 1h, got 1e+308' },
      { file: FILE, line: 5, column: 20, key: 'director.connect_timeout', message: 'out of range: allowed more than 0 up to 1h, got "2h"' },
      { file: FILE, line: 8, column: 22, key: 'mirrors[0].max_connections', message: 'out of range: allowed 1 to 64, got 1e+308' },
    ]);
  });

  it('reports a 31-day ttl (past a timer\'s 24.8 days) and a 65-connection mirror', () => {
    expect(onlyProblem('service: s\nttl: 31d\nmirrors: [ftp://h]\n')).toMatchObject({ line: 2, key: 'ttl', message: 'out of range: allowed 0 up to 30d, got "31d"' });
    expect(onlyProblem('service: s\nmirrors:\n  - url: ftp://h\n    max_connections: 65\n')).toMatchObject({
      line: 4,
      key: 'mirrors[0].max_connections',
      message: 'out of range: allowed 1 to 64, got 65',
    });
  });

  it('still reports ports outside 1-65535', () => {
    expect(onlyProblem('service: s\nmirrors: ["ftp://h:65536/"]\n')).toMatchObject({ line: 2, key: 'mirrors[0]', message: "invalid port '65536'; expected 1-65535" });
    expect(onlyProblem('service: s\nmirrors: ["ftp://h:0/"]\n')).toMatchObject({ message: "invalid port '0'; expected 1-65535" });
  });

  it('refuses membership and probe paths that are no usable path on a mirror', () => {
    expect(onlyProblem('service: s\nmembership: ../MIRRORS.yaml\nmirrors: [ftp://h]\n')).toMatchObject({
      line: 2,
      column: 13,
      key: 'membership',
      message: 'not a usable path on a mirror: a ".." segment is not allowed',
    });
    expect(onlyProblem('service: s\nmembership: "M.yaml\\r\\nDELE x"\nmirrors: [ftp://h]\n')).toMatchObject({
      key: 'membership',
      message: 'not a usable path on a mirror: it contains a control character (CR (U+000D) at character 7)',
    });
    expect(onlyProblem('service: s\nprobe: /\nmirrors: [ftp://h]\n')).toMatchObject({ key: 'probe', message: /names no file/ });
  });
});
