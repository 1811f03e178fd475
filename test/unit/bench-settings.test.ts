// The benchmark's settings: parsing the flags, the scaling arithmetic, and the CLI's resolution of
// --paper, --links and friends into one settings object.

import { describe, expect, it } from 'vitest';
import { settingsFromOptions } from '../../src/bench/options.js';
import { scaleLine, settingsLine } from '../../src/bench/describe.js';
import {
  checkSettings,
  DEFAULT_SCALE,
  defaultSettings,
  linkMbitOf,
  mbitToBytes,
  PAPER_SETTINGS,
  paperMBps,
  parseIntList,
  parsePolicies,
  parseRateList,
  parseSize,
  scaled,
} from '../../src/bench/settings.js';
import { planPoints, totalFiles } from '../../src/bench/sweep.js';
import { parseFault } from '../../src/emulator/faults.js';
import { seededRandom } from '../../src/bench/seeded.js';

describe('parsing', () => {
  it('reads lists of whole numbers, sorted and without repeats', () => {
    expect(parseIntList('4,1,2,2', '--servers')).toEqual([1, 2, 4]);
    expect(() => parseIntList('1,,2', '--servers')).toThrow(/--servers/);
    expect(() => parseIntList('0', '--clients')).toThrow(/>= 1/);
    expect(() => parseIntList('1.5', '--clients')).toThrow();
  });

  it('reads link lists in Mbit/s, keeping their order', () => {
    expect(parseRateList('10,5,2,1', '--links')).toEqual([10, 5, 2, 1]);
    expect(parseRateList('0.5', '--links')).toEqual([0.5]);
    expect(() => parseRateList('10,0', '--links')).toThrow(/> 0/);
    expect(() => parseRateList('fast', '--links')).toThrow();
  });

  it('reads sizes with binary and decimal units', () => {
    expect(parseSize('512KiB')).toBe(512 * 1024);
    expect(parseSize('512k')).toBe(512 * 1024);
    expect(parseSize('1MiB')).toBe(1024 * 1024);
    expect(parseSize('100kB')).toBe(100_000);
    expect(parseSize('65536')).toBe(65536);
    expect(() => parseSize('0')).toThrow();
    expect(() => parseSize('big')).toThrow(/--size/);
  });

  it('reads faults as KIND:SERVER@TIME', () => {
    expect(parseFault('kill:1@5s')).toEqual({ kind: 'kill', server: 1, atSeconds: 5 });
    expect(parseFault('stall:2@500ms')).toEqual({ kind: 'stall', server: 2, atSeconds: 0.5 });
    expect(parseFault('refuse:3@0')).toEqual({ kind: 'refuse', server: 3, atSeconds: 0 });
    expect(() => parseFault('explode:1@5s')).toThrow(/kinds/);
    expect(() => parseFault('kill:0@5s')).toThrow();
    expect(() => parseFault('kill:1')).toThrow();
  });

  it('reads policies and refuses unknown ones', () => {
    expect(parsePolicies('ranked,random,ranked')).toEqual(['ranked', 'random']);
    expect(() => parsePolicies('random,best')).toThrow(/best/);
  });
});

describe('scaling', () => {
  it('the paper settings are the paper\'s experiment', () => {
    expect(PAPER_SETTINGS).toMatchObject({ files: 40, size: 512 * 1024, linkMbit: [10], scale: 1, maxSessions: 16 });
    expect(PAPER_SETTINGS.servers).toEqual([1, 2, 4]);
    expect(PAPER_SETTINGS.clients).toEqual([1, 2, 4, 8, 12, 16]);
  });

  it('speeds links up and control replies up by the same factor', () => {
    const s = { ...defaultSettings(), scale: 16 };
    const x = scaled(s);
    expect(x.linkRates).toEqual([mbitToBytes(160), mbitToBytes(160), mbitToBytes(160), mbitToBytes(160)]);
    expect(mbitToBytes(10)).toBe(1_250_000);
    // 20 ms / 16 = 1.25 ms; the server takes whole ms, and the report says what that stands for.
    expect(x.delayMs).toBe(1);
    expect(x.paperDelayMs).toBe(16);
    expect(x.clientLinkRate).toBe(mbitToBytes(160));
  });

  it('keeps exact figures without scaling', () => {
    const x = scaled(PAPER_SETTINGS);
    expect(x.delayMs).toBe(20);
    expect(x.paperDelayMs).toBe(20);
    expect(x.linkRates[0]).toBe(1_250_000);
  });

  it('converts measured rates back to paper MB/s', () => {
    expect(paperMBps(20_000_000, 16)).toBeCloseTo(1.25);
    expect(paperMBps(1_250_000, 1)).toBeCloseTo(1.25);
  });

  it('repeats the last link for servers past the list', () => {
    const s = { linkMbit: [10, 5] };
    expect([1, 2, 3, 4].map((n) => linkMbitOf(s, n))).toEqual([10, 5, 5, 5]);
  });

  it('says how the run was scaled', () => {
    const s = defaultSettings();
    expect(scaleLine(s, scaled(s))).toMatch(/16x faster.*160 Mbit\/s.*1 ms.*rounded.*paper-equivalent/);
    expect(scaleLine(PAPER_SETTINGS, scaled(PAPER_SETTINGS))).toMatch(/none/);
    expect(settingsLine(s, scaled(s))).toMatch(/40 files x 512.0 KiB.*10 Mbit\/s per server.*16 ms/);
  });

  it('plans every point and counts every retrieval', () => {
    const s = defaultSettings();
    expect(planPoints(s)).toHaveLength(3 * 6 * 2);
    expect(planPoints(s)[0]).toEqual({ servers: 1, clients: 1, policy: 'random' });
    expect(totalFiles(s)).toBe(3 * 2 * (1 + 2 + 4 + 8 + 12 + 16) * 40);
  });

  it('flags settings that cannot run', () => {
    expect(checkSettings(defaultSettings())).toEqual([]);
    expect(checkSettings({ ...defaultSettings(), clients: [] })).not.toEqual([]);
    expect(checkSettings({ ...defaultSettings(), scale: 0 })).not.toEqual([]);
  });

  it('repeats a seeded sequence', () => {
    const a = seededRandom(7);
    const b = seededRandom(7);
    const xs = Array.from({ length: 5 }, () => a());
    expect(xs).toEqual(Array.from({ length: 5 }, () => b()));
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
  });
});

describe('command line', () => {
  it('defaults to the paper scaled by the default factor', () => {
    const s = settingsFromOptions({});
    expect(s.scale).toBe(DEFAULT_SCALE);
    expect(s).toMatchObject({ files: 40, size: 512 * 1024, delayMs: 20, clientLinkMbit: 10 });
  });

  it('--paper runs unscaled', () => {
    expect(settingsFromOptions({ paper: true }).scale).toBe(1);
  });

  it('--links names the mirrors and runs them all unless --servers says otherwise', () => {
    expect(settingsFromOptions({ links: '10,5,2,1', clients: '8' })).toMatchObject({ linkMbit: [10, 5, 2, 1], servers: [4], clients: [8] });
    expect(settingsFromOptions({ links: '10,5,2,1', servers: '2,4' }).servers).toEqual([2, 4]);
    expect(() => settingsFromOptions({ link: '10', links: '10,5' })).toThrow(/one or the other/);
  });

  it('reads the rest of the flags', () => {
    const s = settingsFromOptions({
      files: '3',
      size: '256KiB',
      delay: '0',
      clientLink: 'none',
      scale: '4',
      fault: ['kill:1@2s'],
      policies: 'ranked',
      seed: '5',
      maxSessions: '8',
    });
    expect(s).toMatchObject({ files: 3, size: 256 * 1024, delayMs: 0, clientLinkMbit: undefined, scale: 4, policies: ['ranked'], seed: 5, maxSessions: 8 });
    expect(s.faults).toEqual([{ kind: 'kill', server: 1, atSeconds: 2 }]);
    expect(() => settingsFromOptions({ files: '0' })).toThrow(/--files/);
    expect(() => settingsFromOptions({ scale: 'x' })).toThrow(/--scale/);
  });
});
