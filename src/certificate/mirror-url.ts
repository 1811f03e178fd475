// Mirror URLs: ftp:// and ftps:// only, no control characters, a base path normalised.

import { isIPv6 } from 'node:net';
import { domainToASCII } from 'node:url';
import { controlCharacter } from '../util/safe-text.js';

export const DEFAULT_FTP_PORT = 21;
export const CREDENTIALS_HINT =
  'passwords never go in the certificate: name an environment variable with password_env, or use ~/.netrc';
/** The start of the reason a URL with a password is refused (the hint after it depends on where). */
export const PASSWORD_IN_URL = 'the URL contains a password';
/** The same rule for a URL given on the command line. */
export const COMMAND_LINE_CREDENTIALS_HINT =
  'passwords are not given on the command line: put the login in ~/.netrc, or use a certificate whose mirror has password_env';

export interface MirrorUrl {
  /** The URL as written, with any user name taken out. */
  url: string;
  protocol: 'ftp' | 'ftps';
  host: string;
  port: number;
  basePath: string;
  user?: string;
}

/** Reads an ftp:// or ftps:// URL; gives the reason as a string when it is not one. */
export function parseMirrorUrl(text: string): MirrorUrl | string {
  // CR/LF would end an FTP command early and start another; no control character is ever meant.
  const control = controlCharacter(text);
  if (control) return `the URL contains a control character (${control})`;
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/]*)(.*)$/s.exec(text);
  const [, scheme = '', authority = '', path = ''] = m ?? [];
  // No URL syntax says where a password ends: everything up to the last "@" is withheld.
  if (!m) return `not a URL: ${JSON.stringify(text.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/*)?.*@/s, '$1***@'))}; expected ftp://host[:port]/path`;
  const protocol = scheme.toLowerCase();
  if (protocol !== 'ftp' && protocol !== 'ftps') {
    return `unsupported scheme '${scheme}://'; expected ftp:// or ftps://`;
  }
  const at = authority.lastIndexOf('@');
  const userinfo = at >= 0 ? authority.slice(0, at) : undefined;
  const hostPort = authority.slice(at + 1);
  if (userinfo !== undefined && userinfo.includes(':')) return `${PASSWORD_IN_URL}; ${CREDENTIALS_HINT}`;
  if (userinfo === '') return 'empty user name before "@" in the URL';
  let user: string | undefined;
  try {
    user = userinfo === undefined ? undefined : decodeURIComponent(userinfo);
  } catch {
    return 'bad percent-encoding in the user name';
  }
  const userControl = user === undefined ? undefined : controlCharacter(user);
  if (userControl) return `the user name contains an encoded control character (${userControl})`;

  const hp = /^(?:\[([^\]]*)\]|([^:[\]]*))(?::(.*))?$/s.exec(hostPort);
  if (!hp) return `invalid host ${JSON.stringify(hostPort)}`;
  const [, ipv6, name, portText] = hp;
  let host: string;
  if (ipv6 !== undefined) {
    if (!isIPv6(ipv6)) return `invalid IPv6 address '${ipv6}'`;
    host = ipv6.toLowerCase();
  } else {
    if (!name) return 'missing host; expected ftp://host[:port]/path';
    // Plain ASCII names are kept as written (lower-cased); others go through IDNA.
    const ascii = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.?$/.test(name) ? name.toLowerCase() : domainToASCII(name);
    if (!ascii) return `invalid host '${name}'`;
    host = ascii;
  }
  let port = DEFAULT_FTP_PORT;
  if (portText) {
    port = /^\d{1,5}$/.test(portText) ? Number(portText) : 0;
    if (port < 1 || port > 65535) return `invalid port '${portText}'; expected 1-65535`;
  }

  if (/[?#]/.test(path)) return 'a query or fragment ("?", "#") is not allowed; percent-encode them in a path';
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return 'bad percent-encoding in the path';
  }
  const pathControl = controlCharacter(decoded);
  if (pathControl) return `the path contains an encoded control character (${pathControl})`;
  const result: MirrorUrl = {
    url: `${scheme}://${hostPort}${path}`,
    protocol,
    host,
    port,
    basePath: normalizeBasePath(decoded),
  };
  if (user !== undefined) result.user = user;
  return result;
}

/** "/pub" and "pub//x/" become "/pub/" and "/pub/x/"; "." and ".." are resolved. */
export function normalizeBasePath(path: string): string {
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return parts.length ? `/${parts.join('/')}/` : '/';
}

export function hostForName(url: MirrorUrl): string {
  return `${url.host.includes(':') ? `[${url.host}]` : url.host}:${url.port}`;
}
