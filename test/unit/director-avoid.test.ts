// Request.avoid: the mirrors a request would rather not use (busy with the other ranges of its
// file) are tried after the others, in the policy's order, and still tried when the others fail.

import { describe, expect, it } from 'vitest';
import type { MirrorSpec } from '../../src/certificate/types.js';
import { Director, type Request } from '../../src/director/director.js';
import { RequestError } from '../../src/director/errors.js';
import { orderedPolicy } from '../../src/director/policies.js';

const spec = (name: string): MirrorSpec => ({ name, url: `ftp://${name}/`, protocol: 'ftp', host: name, port: 21, basePath: '/', maxConnections: 1 });
const mirrors = ['a', 'b', 'c'].map(spec);

/** Fails with 'busy' on the mirrors in `failing`, succeeds elsewhere; logs each mirror tried. */
function avoiding(avoid: string[], failing: string[], tried: string[]): Request<string> {
  return {
    what: 'range',
    avoid: () => new Set(avoid),
    async action(m) {
      tried.push(m.name);
      if (failing.includes(m.name)) throw new RequestError('busy', `${m.name} is full`);
      return m.name;
    },
    cleanup() {},
  };
}

describe('Request.avoid', () => {
  it('puts the avoided mirrors last, and the director says so in its order', async () => {
    const d = new Director({ mirrors, policy: orderedPolicy });
    const tried: string[] = [];
    const request = avoiding(['a'], [], tried);
    expect(d.rank(request).map((m) => m.name)).toEqual(['b', 'c', 'a']);
    await expect(d.apply(request)).resolves.toBe('b');
    expect(tried).toEqual(['b']);
  });

  it('still tries an avoided mirror when every other one failed', async () => {
    const d = new Director({ mirrors, policy: orderedPolicy });
    const tried: string[] = [];
    await expect(d.apply(avoiding(['a', 'b'], ['c'], tried))).resolves.toBe('a');
    expect(tried).toEqual(['c', 'a']);
  });
});
