import { mkdirSync, mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigText } from '../config/config.ts';
import { openStateStore } from '../state/open.ts';
import type { StateStore } from '../state/interface.ts';
import { parseDashboardFile, provisionDashboards, uidFromFileName } from './provision.ts';

const good = (title: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    schemaVersion: 1,
    title,
    panels: [
      { id: 'a', title: 'Up', kind: 'stat', queries: [{ expr: 'up' }], grid: { x: 0, y: 0, w: 6, h: 4 } },
    ],
    ...extra,
  });

describe('uidFromFileName', () => {
  const cases: [string, string | RegExp][] = [
    ['node.json', 'node'],
    ['team/Service Overview (v2).yaml', 'Service-Overview-v2'],
    ['a'.repeat(50) + '.json', 'a'.repeat(40)],
    ['äöü.json', /^file-[0-9a-f]{12}$/],
  ];
  it.each(cases)('%s → %s', (file, want) => {
    if (typeof want === 'string') expect(uidFromFileName(file)).toBe(want);
    else expect(uidFromFileName(file)).toMatch(want);
  });
});

describe('parseDashboardFile', () => {
  const cases: [string, string, unknown][] = [
    ['a.json', good('A'), { ok: true, uid: 'a' }],
    ['b.json', good('B', { uid: 'explicit' }), { ok: true, uid: 'explicit' }],
    ['c.yaml', 'schemaVersion: 1\ntitle: C\n', { ok: true, uid: 'c' }],
    [
      'bad.json',
      '{"schemaVersion": 1,\n"title" 1}',
      {
        ok: false,
        problems: [{ path: '', message: expect.stringMatching(/^not valid JSON: .*\(line 2, column 9\)$/) }],
      },
    ],
    [
      'bad.yml',
      'title: [x\nschemaVersion: 1\n',
      {
        ok: false,
        problems: [
          { path: '', message: expect.stringMatching(/^not valid YAML: .* at line \d+, column \d+:$/) },
        ],
      },
    ],
    [
      'invalid.json',
      JSON.stringify({
        schemaVersion: 1,
        title: 'x',
        panels: [{ id: 'a', title: '', kind: 'stat', queries: [], grid: { x: 0, y: 0, w: 30, h: 4 } }],
      }),
      { ok: false, problems: [{ path: 'panels[0].grid.w', message: 'must be at most 24' }] },
    ],
  ];
  it.each(cases)('%s', (file, text, want) => {
    expect(parseDashboardFile(file, text)).toMatchObject(want as object);
  });
});

describe('provisionDashboards', () => {
  let root: string;
  let dir: string;
  let state: StateStore;
  let logs: string[];
  const run = () => {
    logs = [];
    return provisionDashboards({ state, dir, log: (m) => logs.push(m) });
  };

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'vigil-provision-'));
    dir = join(root, 'dashboards');
    mkdirSync(join(dir, 'team'), { recursive: true });
    mkdirSync(join(dir, '..data'), { recursive: true });
    writeFileSync(join(dir, 'node.json'), good('Node'));
    writeFileSync(
      join(dir, 'team', 'api.yaml'),
      'schemaVersion: 1\nuid: team-api\ntitle: API\ntags: [team]\n',
    );
    writeFileSync(join(dir, 'broken.json'), '{"schemaVersion": 1, "title": ');
    writeFileSync(
      join(dir, 'invalid.yml'),
      'schemaVersion: 1\ntitle: ""\npanels:\n  - {id: a, title: x, kind: pie, queries: [], grid: {x: 0, y: 0, w: 4, h: 4}}\n',
    );
    writeFileSync(join(dir, 'notes.txt'), 'not a dashboard');
    // Kubernetes ConfigMap layout: the visible file is a link into a hidden folder, which is not read twice.
    writeFileSync(join(dir, '..data', 'linked.json'), good('Linked'));
    symlinkSync(join(dir, '..data', 'linked.json'), join(dir, 'linked.json'));
    state = await openStateStore({ driver: 'sqlite', path: join(root, 'state.db') });
    await state.dashboards.create({ uid: 'mine', title: 'Made in the UI', body: { schemaVersion: 1 } });
  });
  afterAll(async () => {
    await state?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('loads the good files, skips and reports the bad ones', async () => {
    const r = await run();
    expect(r.created.sort()).toEqual(['linked', 'node', 'team-api']);
    expect(r.skipped.map((s) => s.file)).toEqual(['broken.json', 'invalid.yml']);
    expect(r.skipped[1]!.problems.map((p) => p.path)).toEqual(['title', 'panels[0].kind']);
    expect(logs).toContainEqual(
      expect.stringMatching(/^dashboards: skipped .*broken\.json: not valid JSON: /),
    );
    expect(logs).toContainEqual(
      expect.stringMatching(
        /^dashboards: skipped .*invalid\.yml: title: must not be empty; panels\[0\]\.kind: must be one of/,
      ),
    );
    expect(logs.at(-1)).toMatch(/3 created, 0 updated, 0 unchanged, 0 removed, 2 skipped$/);

    const api = await state.dashboards.get('team-api');
    expect(api).toMatchObject({ title: 'API', tags: ['team'], createdBy: 'file:team/api.yaml', version: 1 });
    expect((await state.dashboards.get('node'))!.createdBy).toBe('file:node.json');
    expect((await state.dashboards.get('linked'))!.createdBy).toBe('file:linked.json');
  });

  it('leaves unchanged files alone and updates changed ones', async () => {
    writeFileSync(join(dir, 'node.json'), good('Node v2'));
    // Same content, other key order and formatting: not a change.
    writeFileSync(
      join(dir, 'team', 'api.yaml'),
      'title: API\ntags: [team]\nuid: team-api\nschemaVersion: 1\n',
    );
    const r = await run();
    expect(r.updated).toEqual(['node']);
    expect(r.unchanged.sort()).toEqual(['linked', 'team-api']);
    expect(await state.dashboards.get('node')).toMatchObject({ title: 'Node v2', version: 2 });
    expect((await state.dashboards.get('team-api'))!.version).toBe(1);
  });

  it('refuses a uid used twice or taken by a dashboard made in Vigil', async () => {
    writeFileSync(join(dir, 'zz-copy.json'), good('Copy', { uid: 'node' }));
    writeFileSync(join(dir, 'takeover.json'), good('Takeover', { uid: 'mine' }));
    const r = await run();
    expect(r.skipped.map((s) => [s.file, s.problems[0]!.message])).toEqual(
      expect.arrayContaining([
        ['zz-copy.json', 'uid "node" is already used by node.json; give one of them another uid'],
        [
          'takeover.json',
          expect.stringMatching(/uid "mine" was created in Vigil, not from a file; it is left alone/),
        ],
      ]),
    );
    expect((await state.dashboards.get('mine'))!.title).toBe('Made in the UI');
    expect((await state.dashboards.get('node'))!.title).toBe('Node v2');
    unlinkSync(join(dir, 'zz-copy.json'));
    unlinkSync(join(dir, 'takeover.json'));
  });

  it('keeps the last good version of a file that broke, removes dashboards whose file is gone', async () => {
    writeFileSync(join(dir, 'node.json'), '{ oops');
    unlinkSync(join(dir, 'linked.json'));
    const r = await run();
    expect(r.removed).toEqual(['linked']);
    expect(await state.dashboards.get('linked')).toBeUndefined();
    expect((await state.dashboards.get('node'))!.title).toBe('Node v2');
    expect(await state.dashboards.get('mine')).toBeDefined();
    expect(logs).toContainEqual('dashboards: removed "linked": its file linked.json is gone');
  });

  it('reports a missing folder and changes nothing', async () => {
    const before = (await state.dashboards.list()).map((d) => d.uid);
    const r = await provisionDashboards({ state, dir: join(root, 'nope'), log: (m) => logs.push(m) });
    expect(r.error).toMatch(/cannot read the dashboards folder .*nope: ENOENT/);
    expect((await state.dashboards.list()).map((d) => d.uid)).toEqual(before);
  });
});

describe('dashboards.dir configuration', () => {
  it("is off by default and resolves a relative folder against the configuration file's folder", () => {
    expect(loadConfigText('', 'vigil.yml').dashboards.dir).toBe('');
    expect(loadConfigText('dashboards:\n  dir: ./dash\n', 'vigil.yml').dashboards.dir).toBe(resolve('dash'));
    expect(loadConfigText('dashboards:\n  dir: /etc/vigil/dash\n', 'vigil.yml').dashboards.dir).toBe(
      '/etc/vigil/dash',
    );
    expect(loadConfigText('dashboards:\n  dir: dash\n', '/etc/vigil/vigil.yml').dashboards.dir).toBe(
      '/etc/vigil/dash',
    );
  });
});
