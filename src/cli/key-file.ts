// Where `cert keygen` puts the private key unless told: a module of its own so that the help text
// can name it without loading the signing code.

export const DEFAULT_KEY_FILE = 'smartftp-signing.key';
