import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { planTree, treeFilter } from '../../src/client/tree.js';

const FILES = ['x.iso', 'a/y.iso', 'a/b/z.txt', 'b/w.iso', '.dot/v.iso'].map((path) => ({ path, size: 1 }));

describe('planTree', () => {
  it('keeps the tree under DIR, its contents without the directory name, as lftp mirror does', () => {
    const plan = planTree('/pub/tree/', FILES, '/tmp/out');
    expect(plan.items).toContainEqual({ remotePath: '/pub/tree/a/b/z.txt', dest: join(resolve('/tmp/out'), 'a', 'b', 'z.txt') });
    expect(plan.items).toHaveLength(FILES.length);
    expect(plan.problems).toEqual([]);
  });

  it("each item carries every listing's size of its file, as that mirror's word; a file a listing lacks gets none from it", () => {
    const second = { mirror: 'm2', files: [{ path: 'x.iso', size: 7 }] };
    const plan = planTree('tree', FILES, '/tmp/out', {}, [{ mirror: 'm1', files: FILES }, second]);
    const listed = (remotePath: string) => plan.items.find((i) => i.remotePath === remotePath)?.listed;
    expect(listed('tree/x.iso')).toEqual([{ mirror: 'm1', size: 1 }, { mirror: 'm2', size: 7 }]);
    expect(listed('tree/a/y.iso')).toEqual([{ mirror: 'm1', size: 1 }]);
  });

  it('a file whose path would leave DIR is a problem, not an item', () => {
    const plan = planTree('tree', [{ path: 'a/../../x', size: 1 }], '/tmp/out');
    expect(plan.items).toEqual([]);
    expect(plan.problems[0]).toMatch(/skipped .*inside/);
  });
});

describe('treeFilter', () => {
  const kept = (filter: Parameters<typeof treeFilter>[0]) => FILES.map((f) => f.path).filter(treeFilter(filter));

  it('a glob without "/" matches the last segment at any depth; dot files are files', () => {
    expect(kept({ include: ['*.iso'] })).toEqual(['x.iso', 'a/y.iso', 'b/w.iso', '.dot/v.iso']);
  });

  it('a glob with "/" matches the whole relative path', () => {
    expect(kept({ include: ['a/**'] })).toEqual(['a/y.iso', 'a/b/z.txt']);
    expect(kept({ include: ['*/y.iso'] })).toEqual(['a/y.iso']);
  });

  it('an excluded directory leaves out everything in it; exclude wins over include', () => {
    expect(kept({ exclude: ['a'] })).toEqual(['x.iso', 'b/w.iso', '.dot/v.iso']);
    expect(kept({ include: ['*.iso'], exclude: ['b/*', '.dot'] })).toEqual(['x.iso', 'a/y.iso']);
  });
});
