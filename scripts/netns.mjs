// Network namespaces for tests and benchmarks: N namespaces named smftp-<pid>-<i>, each joined to
// this one by a veth pair in a private /24 (10.X.i.0/24, X chosen free of this machine's
// addresses), the namespace side shaped by tc (tbf at a rate, netem for a delay) so that what a
// server in it sends crosses a real network stack and a real bottleneck. Only what this process
// made is removed, by name. Needs root and `ip netns`.

import { execFileSync } from 'node:child_process';

const run = (args) => execFileSync(args[0], args.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] }).toString();

/** Why namespaces cannot be made here, or undefined when they can (tried with a namespace of our own). */
export function netnsProblem() {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'network namespaces need root';
  const name = `smftp-${process.pid}-try`;
  try {
    run(['ip', 'netns', 'add', name]);
  } catch (error) {
    return `ip netns add is not permitted here: ${String(error.stderr ?? error.message).trim()}`;
  } finally {
    try {
      run(['ip', 'netns', 'del', name]);
    } catch {
      // it was never made
    }
  }
  try {
    run(['tc', '-V']);
  } catch {
    return 'tc (iproute2) is not installed';
  }
  return undefined;
}

/** Why a link delay cannot be made here (netem missing from the kernel), or undefined. */
export function netemProblem() {
  const name = `smftp-${process.pid}-netem`;
  try {
    run(['ip', 'netns', 'add', name]);
    run(['ip', 'netns', 'exec', name, 'tc', 'qdisc', 'add', 'dev', 'lo', 'root', 'netem', 'delay', '1ms']);
    return undefined;
  } catch (error) {
    return `tc netem is not available here: ${String(error.stderr ?? error.message).trim()}`;
  } finally {
    try {
      run(['ip', 'netns', 'del', name]);
    } catch {
      // never made
    }
  }
}

/** A second octet X such that no address of this machine is in 10.X.0.0/16. */
function freeOctet() {
  const used = run(['ip', '-4', '-o', 'addr']);
  for (let k = 0; k < 100; k++) {
    const x = 100 + ((process.pid + k) % 100);
    if (!used.includes(` 10.${x}.`)) return x;
  }
  throw new Error('no free 10.X.0.0/16 for the namespaces');
}

/**
 * Make one namespace per link: `links[i]` = { rateKbit, delayMs? } shapes what leaves the
 * namespace (the servers' data). Returns the namespaces ({ name, address, hostAddress, dev }) and
 * remove(), which deletes them and their veths.
 */
export function makeNamespaces(links) {
  const x = freeOctet();
  const made = [];
  const remove = () => {
    for (const ns of made.splice(0)) {
      try {
        run(['ip', 'link', 'del', ns.hostDev]);
      } catch {
        // gone with its namespace already
      }
      try {
        run(['ip', 'netns', 'del', ns.name]);
      } catch {
        // never made
      }
    }
  };
  try {
    links.forEach((link, i) => {
      const ns = { name: `smftp-${process.pid}-${i}`, hostDev: `sf${process.pid}h${i}`, dev: `sf${process.pid}n${i}`, address: `10.${x}.${i}.2`, hostAddress: `10.${x}.${i}.1`, link };
      made.push(ns);
      run(['ip', 'netns', 'add', ns.name]);
      run(['ip', 'link', 'add', ns.hostDev, 'type', 'veth', 'peer', 'name', ns.dev]);
      run(['ip', 'link', 'set', ns.dev, 'netns', ns.name]);
      run(['ip', 'addr', 'add', `${ns.hostAddress}/24`, 'dev', ns.hostDev]);
      run(['ip', 'link', 'set', ns.hostDev, 'up']);
      const inNs = (args) => run(['ip', 'netns', 'exec', ns.name, ...args]);
      inNs(['ip', 'addr', 'add', `${ns.address}/24`, 'dev', ns.dev]);
      inNs(['ip', 'link', 'set', ns.dev, 'up']);
      inNs(['ip', 'link', 'set', 'lo', 'up']);
      // tbf is the bottleneck (a queue of at most 50 ms, as a router's would be); netem under it adds the delay.
      inNs(['tc', 'qdisc', 'add', 'dev', ns.dev, 'root', 'handle', '1:', 'tbf', 'rate', `${link.rateKbit}kbit`, 'burst', '32kb', 'latency', '50ms']);
      if (link.delayMs) inNs(['tc', 'qdisc', 'add', 'dev', ns.dev, 'parent', '1:1', 'handle', '10:', 'netem', 'delay', `${link.delayMs}ms`]);
    });
  } catch (error) {
    remove();
    throw error;
  }
  return { namespaces: made.map(({ name, address, hostAddress, dev }) => ({ name, address, hostAddress, dev })), remove };
}

/** Bytes the servers in a namespace sent through its shaped link (what tc counted, headers included). */
export function sentThroughLink(ns) {
  const out = run(['ip', 'netns', 'exec', ns.name, 'tc', '-s', 'qdisc', 'show', 'dev', ns.dev]);
  const m = /qdisc tbf[\s\S]*?Sent (\d+) bytes/.exec(out);
  return m ? Number(m[1]) : 0;
}
