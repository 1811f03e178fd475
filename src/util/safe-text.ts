// Text that came from someone else (a certificate, a command line, a mirror) before it goes into
// a command or a message: control characters found and shown escaped, passwords in URLs masked.

/** C0 controls (NUL, CR, LF, TAB, ...), DEL and the C1 controls. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const CONTROL_ALL = /[\u0000-\u001f\u007f-\u009f]/g;

const NAMES: Readonly<Record<number, string>> = { 0: 'NUL', 9: 'TAB', 10: 'LF', 13: 'CR', 27: 'ESC', 127: 'DEL' };

const ESCAPES: Readonly<Record<string, string>> = { '\r': '\\r', '\n': '\\n', '\t': '\\t' };

function codeOf(ch: string): string {
  const code = ch.charCodeAt(0);
  return `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** Where the first control character is, e.g. "CR (U+000D) at character 12"; undefined when there is none. */
export function controlCharacter(text: string): string | undefined {
  const m = CONTROL.exec(text);
  if (!m) return undefined;
  const code = m[0].charCodeAt(0);
  const name = NAMES[code];
  return `${name ? `${name} (${codeOf(m[0])})` : codeOf(m[0])} at character ${m.index + 1}`;
}

/** The text with control characters written as escapes (\r, \n, \u0000), safe to print on one line. */
export function printable(text: string): string {
  return text.replace(CONTROL_ALL, (ch) => ESCAPES[ch] ?? `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * Every "scheme://user:password@" in the text becomes "scheme://user:***@". The password runs to
 * the last "@" before the path, so one holding an "@" is masked whole.
 */
const USERINFO_PASSWORD = /([A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s/?#@:]*):[^\s/?#]*@/g;

export function maskPasswords(text: string): string {
  return text.replace(USERINFO_PASSWORD, '$1:***@');
}

/** For a message: passwords masked and control characters escaped. */
export function safeForMessage(text: string): string {
  return printable(maskPasswords(text));
}

/** A copy of plain data (events, JSON output) with maskPasswords applied to every string in it. */
export function maskPasswordsDeep<T>(value: T): T {
  if (typeof value === 'string') return maskPasswords(value) as T;
  if (Array.isArray(value)) return value.map((v: unknown) => maskPasswordsDeep(v)) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskPasswordsDeep(v)])) as T;
  }
  return value;
}
