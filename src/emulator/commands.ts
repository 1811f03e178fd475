/**
 * Commands whose reply depends on nothing but the command and its argument: no login, cwd or
 * transfer state. Kept out of the session so that it holds only what changes per connection.
 */

const FEATURES = ['SIZE', 'MDTM', 'REST STREAM', 'EPSV', 'PASV', 'UTF8'];

const line = (code: number, text: string): string => `${code} ${text}\r\n`;

// Each entry yields the whole raw reply, CRLFs included, because FEAT's is multi-line.
const TABLE = new Map<string, (arg: string) => string>([
  ['SYST', () => line(215, 'UNIX Type: L8')],
  ['FEAT', () => `211-Features:\r\n${FEATURES.map((f) => ` ${f}\r\n`).join('')}211 End\r\n`],
  ['OPTS', (arg) => (/^UTF8 ON$/i.test(arg.trim()) ? line(200, 'Always in UTF8 mode.') : line(501, 'Option not understood.'))],
  [
    'TYPE',
    (arg) => {
      const t = arg.trim().toUpperCase();
      if (t === 'I' || t === 'L 8') return line(200, 'Switching to Binary mode.');
      // ASCII is accepted but files are sent unchanged, as on a Unix server with LF files.
      if (t === 'A' || t === 'A N') return line(200, 'Switching to ASCII mode.');
      return line(504, 'Bad TYPE command.');
    },
  ],
  ['STRU', (arg) => (arg.trim().toUpperCase() === 'F' ? line(200, 'Structure set to F.') : line(504, 'Bad STRU command.'))],
  ['MODE', (arg) => (arg.trim().toUpperCase() === 'S' ? line(200, 'Mode set to S.') : line(504, 'Bad MODE command.'))],
  ['NOOP', () => line(200, 'NOOP ok.')],
]);

/** The raw reply to a stateless command, or undefined when cmd needs the session. */
export function statelessReply(cmd: string, arg: string): string | undefined {
  return TABLE.get(cmd)?.(arg);
}
