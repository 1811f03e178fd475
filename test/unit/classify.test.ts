// How basic-ftp's failures become the director's error kinds: by reply code, differently while
// connecting (a mirror that cannot log us in is unreachable) and after login.

import { FTPError } from 'basic-ftp';
import { describe, expect, it } from 'vitest';
import { RequestError } from '../../src/director/errors.js';
import { classifyConnectError, classifyTransferError } from '../../src/ftp/classify.js';

const reply = (code: number) => new FTPError({ code, message: `${code} the server's words` });

describe('classifyTransferError (after login)', () => {
  it.each([
    [421, 'busy'],
    [530, 'auth'],
    [332, 'auth'],
    [550, 'missing'],
    [551, 'missing'],
    [553, 'missing'],
    [450, 'missing'],
    [426, 'broken'],
    [425, 'broken'],
    [451, 'broken'],
    [500, 'broken'],
  ])('reply %i is %s', (code, kind) => {
    const error = reply(code);
    const classified = classifyTransferError(error);
    expect(classified).toBeInstanceOf(RequestError);
    expect(classified.kind).toBe(kind);
    expect(classified.message).toBe(error.message);
    expect(classified.cause).toBe(error);
  });

  it('a timeout without a reply is a stall; any other socket failure is broken', () => {
    expect(classifyTransferError(new Error('Timeout (data socket)')).kind).toBe('stalled');
    expect(classifyTransferError(new Error('TIMEOUT waiting')).kind).toBe('stalled');
    expect(classifyTransferError(new Error('Server sent FIN packet unexpectedly, closing connection.')).kind).toBe('broken');
    expect(classifyTransferError('not even an Error')).toMatchObject({ kind: 'broken', message: 'not even an Error' });
  });

  it('a RequestError passes through as it is', () => {
    const own = new RequestError('mismatch', 'another copy');
    expect(classifyTransferError(own)).toBe(own);
  });
});

describe('classifyConnectError (connect and login)', () => {
  it.each([
    [421, 'busy'],
    [530, 'auth'],
    [332, 'auth'],
    [550, 'unreachable'], // "missing" or "broken" before a file was named: the login failed
    [500, 'unreachable'],
    [534, 'unreachable'],
  ])('reply %i is %s', (code, kind) => {
    const error = reply(code);
    expect(classifyConnectError(error)).toMatchObject({ kind, message: error.message, cause: error });
  });

  it('refused, reset and timed out are all unreachable (a login timeout is no stall)', () => {
    for (const message of ['connect ECONNREFUSED 127.0.0.1:9', 'read ECONNRESET', 'Timeout (control socket)']) {
      expect(classifyConnectError(new Error(message)), message).toMatchObject({ kind: 'unreachable', message });
    }
    expect(classifyConnectError(42)).toMatchObject({ kind: 'unreachable', message: '42' });
  });

  it('a RequestError passes through as it is', () => {
    const own = new RequestError('auth', 'password_env not set');
    expect(classifyConnectError(own)).toBe(own);
  });
});
