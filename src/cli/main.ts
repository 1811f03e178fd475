// The command line: commander wiring only; each command lives in its own file, imported only when
// that command runs, so that --help, --version and a small `get` do not load the benchmark, the
// emulator or the signing code (module loading was most of the start-up time).

import { createRequire } from 'node:module';
import { Command, CommanderError, Option } from 'commander';
import { POLICY_NAMES } from '../certificate/types.js';
import type { BenchOptions } from '../bench/options.js';
import { quietOnBrokenPipe } from '../ui/pipes.js';
import { maskPasswords } from '../util/safe-text.js';
import { collect, durationArg, listOfNumbers, rateArg, sha256Arg, wholeNumber } from './args.js';
import type { CertInitOptions } from './cert-init.js';
import { EXIT } from './exit-codes.js';
import type { GetOptions } from './get.js';
import { DEFAULT_KEY_FILE } from './key-file.js';
import type { MirrorsOptions } from './mirrors.js';
import type { ServeOptions } from './serve.js';

/** package.json's version, read at run time: it sits two levels above both src/cli/ and dist/cli/. */
const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

/** Options shared by the commands that work with a service. */
const certOption = () =>
  new Option(
    '--cert <source>',
    'the service certificate: a file or ftp:// / http(s):// URL; repeat to try several in turn (default $SMARTFTP_CERT or ./mirrors.yaml)',
  ).argParser(collect);
const mirrorOption = () =>
  new Option(
    '--mirror <url>',
    'a mirror base URL, ftp://host[:port]/dir (repeat for each): a service built from these instead of a certificate',
  ).argParser(collect);
const certKeyOption = () =>
  new Option(
    '--cert-key <key>',
    'a certificate fetched from a URL must be signed by this key: ed25519:BASE64, or a file holding it (default $SMARTFTP_CERT_KEY; see docs/certificate-signing.md)',
  );
const noStateOption = () => new Option('--no-state', 'neither read nor save what the director measured');
const stateDirOption = () => new Option('--state-dir <dir>', 'where measurements are kept (default $XDG_STATE_HOME/smartftp)');

function buildProgram(setCode: (code: number) => void): Command {
  const program = new Command('smartftp')
    .description('A smart FTP downloader: one director, many peer mirrors, failover with resume.')
    .version(version)
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(maskPasswords(s)) });

  program
    .command('get')
    .description('download files from the service, failing over between mirrors and resuming at the byte offset')
    .argument('[remote-path...]', "paths relative to each mirror's base directory, or files' full ftp:// URLs")
    .option('-i, --input-file <file>', "more paths from a file, one a line ('-' = stdin; # comments); or URLs, a file's mirrors TAB-separated on its line")
    .option('-j, --jobs <n>', 'files downloaded at once (one director, shared connections)', wholeNumber(1), 1)
    .option('-s, --split <n>', 'fetch each file in byte ranges from up to N mirrors at once, re-balanced as they prove faster or slower (1 = one mirror at a time; default: files of 20 MiB or more from the mirrors measured good)', wholeNumber(1))
    .option('-o, --output <file>', 'write the (single) file here')
    .option('-d, --dir <dir>', 'write files into this directory', '.')
    .option('-r, --recursive', 'the path is a directory: fetch its tree into -d DIR (its contents, as lftp mirror does)')
    .addOption(new Option('--include <glob>', 'with -r: fetch only files whose path (relative to the directory) matches; repeatable').argParser(collect))
    .addOption(new Option('--exclude <glob>', 'with -r: leave out files or directories that match; repeatable').argParser(collect))
    .addOption(certOption())
    .addOption(mirrorOption())
    .addOption(certKeyOption())
    .addOption(new Option('--policy <name>', 'how the director picks mirrors').choices(POLICY_NAMES))
    .option('--stall-timeout <duration>', 'give up on a mirror after this long without data', durationArg)
    .option('--no-adaptive-stall', 'use the stall timeout as a fixed limit, not only as the ceiling')
    .option('--sha256 <hex>', 'expected checksum of the (single) file', sha256Arg)
    .option('--json', 'one JSON event per line on stdout')
    .option('-q, --quiet', 'print errors only')
    .option('--debug', "also print the director's decisions and their reasons")
    .option('--force', 'fetch files again that are already complete (same size and time as the mirror, or the --sha256 given)')
    .option('-v, --verbose', 'also print the FTP dialogue (passwords masked)')
    .option('--connect-timeout <duration>', 'give up connecting and logging in, or on a command, after this long', durationArg)
    .option('--tries <n>', 'passes over the mirrors for a file (another only after one that got somewhere)', wholeNumber(1))
    .option('--retry-wait <duration>', 'wait this long between passes over the mirrors', durationArg)
    .option('--limit-rate <rate>', 'receive at most this many bytes a second over all transfers (500K, 2M)', rateArg)
    .option('--dry-run', 'say which mirrors each file would come from, and fetch nothing')
    .addOption(noStateOption())
    .addOption(stateDirOption())
    .action(async (paths: string[], options: GetOptions) => setCode(await (await import('./get.js')).runGet(paths, options)));

  program
    .command('mirrors')
    .description('every mirror with what the director knows of it; --probe measures them now')
    .addOption(certOption())
    .addOption(mirrorOption())
    .addOption(certKeyOption())
    .option('--probe', 'measure each mirror now with a small download, in parallel, and save the result')
    .option('--json', 'print JSON')
    .addOption(noStateOption())
    .addOption(stateDirOption())
    .action(async (options: MirrorsOptions) => setCode(await (await import('./mirrors.js')).runMirrors(options)));

  program
    .command('serve')
    .description("run the certificate's 127.0.0.1 mirrors as local emulated FTP servers (demo and trials)")
    .addOption(certOption())
    .option('--root <dir>', 'serve this directory (default: a generated tree of sample files)')
    .option('--rates <mbit,...>', 'link capacity per mirror in Mbit/s, in certificate order; 0 = unlimited', listOfNumbers)
    .option('--delay <ms>', 'added delay on every control reply', wholeNumber(0))
    .option('--max-sessions <n>', 'sessions per mirror before 421', wholeNumber(0))
    .option('--fault <kind:target@time>', 'e.g. kill:local-a@5s: that mirror (a name or a number from 1) dies 5 s after the first client connects to any mirror (kill|stall|refuse|drop|error; repeatable)', collect)
    .action(async (options: ServeOptions) => setCode(await (await import('./serve.js')).runServe(options)));

  program
    .command('bench')
    .description("reproduce the paper's Figure 6 on emulated mirrors: aggregate MB/s for 1/2/4 servers x 1..16 clients, random vs ranked")
    .option('--servers <list>', 'server counts to run (default 1,2,4; with --links, all of them)')
    .option('--clients <list>', 'client counts to run (default 1,2,4,8,12,16)')
    .option('--policies <list>', 'random (the paper\'s, one connection per client), ranked (smartftp), random-pooled (default random,ranked)')
    .option('--files <n>', 'consecutive retrievals per client (default 40)')
    .option('--size <bytes>', 'file size, e.g. 512KiB (default)')
    .option('--link <mbit>', 'link capacity of every server in Mbit/s (default 10)')
    .option('--links <mbit,...>', 'link per server in Mbit/s, heterogeneous mirrors (e.g. 10,5,2,1)')
    .option('--delay <ms>', 'added delay on every control reply, standing for distance (default 20; 0 allowed)')
    .option('--client-link <mbit>', "each client's own link in Mbit/s; 0 or none = uncapped (default 10, as the paper's ports)")
    .option('--max-sessions <n>', 'sessions per server before 421 (default 16)')
    .option('--scale <k>', 'run links k times faster and control replies k times sooner (default 16; --paper: 1)')
    .option('--paper', "the paper's exact settings and timing (40 x 512 KiB, 10 Mbit/s, no scaling): long")
    .option('--fault <kind:target@time>', 'e.g. kill:1@5s: server 1 (or s1) dies 5 s into each point (kill|stall|refuse|drop|error; repeatable)', collect)
    .option('--seed <n>', "seed of every client's random choices")
    .option('--out <dir>', 'write bench.csv, figure6.svg, bench.json and report.txt here')
    .option('--json', 'print the results as JSON')
    .option('--report-only', 'exit 0 even when a check fails (by default a failed check exits 1; the report says FAIL either way)')
    .option('--cert <file>', 'run the fleet against the real mirrors of this certificate (needs --file)')
    .option('--file <path>', 'with --cert: the file to retrieve, relative to each mirror')
    .action(async (options: BenchOptions) => setCode(await (await import('./bench.js')).runBench(options)));

  const cert = program.command('cert').description('service certificates');
  cert
    .command('check')
    .description('validate a certificate; every problem is reported with file, line and key')
    .argument('<file>')
    .option('--json', 'print the validated certificate as JSON')
    .action(async (file: string, options: { json?: boolean }) => setCode(await (await import('./cert.js')).runCertCheck(file, options)));
  cert
    .command('init')
    .description('write a certificate from mirror base URLs: each mirror is tried first (login, base directory, latency, TLS) and kept with a comment saying what was found')
    .argument('<url...>', 'mirror base URLs, ftp://host[:port]/dir or ftps://...')
    .option('--out <file>', 'where the certificate goes', 'mirrors.yaml')
    .option('--service <name>', 'the service name (default: urls: and the hosts)')
    .option('--force', 'replace an existing file')
    .action(async (urls: string[], options: CertInitOptions) => setCode(await (await import('./cert-init.js')).runCertInit(urls, options)));
  cert
    .command('keygen')
    .description('make an Ed25519 key pair: the private key to a file (mode 0600), the signing_key line to paste into the certificate on stdout')
    .option('--out <keyfile>', `where the private key goes; the public key goes to KEYFILE.pub (default ${DEFAULT_KEY_FILE})`)
    .option('--force', 'replace an existing key file')
    .action(async (options: { out?: string; force?: boolean }) => setCode(await (await import('./cert-sign.js')).runCertKeygen(options)));
  cert
    .command('sign')
    .description('sign the exact bytes of a certificate: writes FILE.sig beside it')
    .argument('<file>')
    .requiredOption('--key <keyfile>', 'the private key file from cert keygen')
    .option('--out <sigfile>', 'where the signature goes (default FILE.sig)')
    .action(async (file: string, options: { key: string; out?: string }) => setCode(await (await import('./cert-sign.js')).runCertSign(file, options)));
  cert
    .command('verify')
    .description("check FILE.sig against the certificate's signing_key (or --key); exit 2 when it does not verify")
    .argument('<file>')
    .option('--key <pub>', 'ed25519:BASE64, or a file holding it (default: the signing_key in FILE)')
    .option('--sig <sigfile>', 'the signature file (default FILE.sig)')
    .action(async (file: string, options: { key?: string; sig?: string }) => setCode(await (await import('./cert-sign.js')).runCertVerify(file, options)));

  return program;
}

export async function main(argv: string[]): Promise<number> {
  quietOnBrokenPipe();
  let code: number = EXIT.ok;
  const program = buildProgram((c) => (code = c));
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help'
        ? EXIT.ok
        : EXIT.usage;
    }
    process.stderr.write(maskPasswords(`smartftp: ${error instanceof Error ? error.stack ?? error.message : String(error)}`) + '\n');
    return EXIT.failed;
  }
  return code;
}
