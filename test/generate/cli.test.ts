import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { TaskDef } from '../../src/task/types.ts';
import { exampleTemplate, repoRoot, segs } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'qtask-gen-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function qtask(args: string[], input?: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(repoRoot, 'bin', 'qtask.js'), ...args], {
    cwd: dir,
    input,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const WEEKDAYS_2020 = 'weekdays:2020-01-01:2020-12-31';
const tplPath = join(dir, 'template.json');
writeFileSync(tplPath, JSON.stringify(exampleTemplate()));

describe('qtask gen', () => {
  it('prints the worked example as a JSON array and a summary on stderr', () => {
    const r = qtask(['gen', tplPath, '--calendar', WEEKDAYS_2020, '--step', '40']);
    assert.equal(r.code, 0, r.stderr);
    const tasks = JSON.parse(r.stdout) as TaskDef[];
    assert.deepEqual(
      tasks.map((t) => segs(t).test),
      [
        ['2020-05-01', '2020-06-25'],
        ['2020-06-26', '2020-08-20'],
        ['2020-08-21', '2020-10-15'],
        ['2020-10-16', '2020-12-10'],
        ['2020-12-11', null],
      ],
    );
    assert.match(r.stderr, /generated 5 tasks from 1 template\n$/);
    assert.match(r.stderr, /#\s+train\s+valid\s+test/, 'a window table for people');
  });

  it('reads a day.txt calendar, YAML lists, and all options; --json keeps stderr to the summary', () => {
    const cal = join(dir, 'day.txt');
    const days: string[] = [];
    for (let d = new Date(Date.UTC(2020, 0, 1)); d.getUTCFullYear() === 2020; d.setUTCDate(d.getUTCDate() + 1)) {
      if (d.getUTCDay() % 6 !== 0) days.push(`${d.toISOString().slice(0, 10)} 00:00:00`);
    }
    writeFileSync(cal, `${days.join('\n')}\n`);
    const yml = join(dir, 'two.yaml');
    writeFileSync(yml, `- ${JSON.stringify(exampleTemplate())}\n- ${JSON.stringify(exampleTemplate({ test: ['2020-05-01', '2020-09-30'] }))}\n`);
    const r = qtask(['gen', yml, '--calendar', cal, '--step', '1M', '--rtype', 'sliding', '--trunc-days', '2', '--clip', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const tasks = JSON.parse(r.stdout) as TaskDef[];
    assert.equal(tasks.length, 8 + 5);
    assert.deepEqual(segs(tasks[0]).test, ['2020-05-01', '2020-05-29']);
    assert.deepEqual(segs(tasks[12]).test, ['2020-09-01', '2020-09-30']);
    assert.equal(r.stderr, 'generated 13 tasks from 2 templates\n');
  });

  it('reads the template from stdin with "-"', () => {
    const r = qtask(['gen', '-', '--calendar', WEEKDAYS_2020, '--step', '2W', '--json'], JSON.stringify(exampleTemplate({ test: ['2020-05-01', '2020-06-30'] })));
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      (JSON.parse(r.stdout) as TaskDef[]).map((t) => segs(t).test[0]),
      ['2020-05-01', '2020-05-11', '2020-05-25', '2020-06-08', '2020-06-22'],
    );
  });

  it('bad input: one-line typed errors, non-zero exit, nothing on stdout', () => {
    const badYaml = join(dir, 'bad.yaml');
    writeFileSync(badYaml, 'model:\n  class: M\n kwargs: [1\n');
    const badDates = join(dir, 'dates.json');
    writeFileSync(badDates, JSON.stringify(exampleTemplate({ test: ['2017-13-01', '2017-02-30'] })));
    const noTest = join(dir, 'notest.json');
    const t = exampleTemplate();
    delete (t.dataset as { kwargs: { segments: Record<string, unknown> } }).kwargs.segments.test;
    writeFileSync(noTest, JSON.stringify(t));
    const unsorted = join(dir, 'unsorted.txt');
    writeFileSync(unsorted, '2020-01-02\n2020-01-06\n2020-01-03\n');
    const cases: [string[], RegExp][] = [
      [['gen', tplPath, '--calendar', WEEKDAYS_2020, '--step', '0'], /^qtask: VALIDATION: --step: must be a positive integer/],
      [['gen', tplPath, '--calendar', WEEKDAYS_2020, '--step', '-5'], /^qtask: VALIDATION: --step: /],
      [['gen', tplPath, '--calendar', WEEKDAYS_2020, '--step', '5D'], /^qtask: VALIDATION: --step: unknown step "5D"/],
      [['gen', tplPath, '--calendar', WEEKDAYS_2020, '--step', '4', '--rtype', 'rolling'], /^qtask: VALIDATION: --rtype: unknown rtype "rolling"/],
      [['gen', tplPath, '--calendar', WEEKDAYS_2020, '--step', '4', '--trunc-days', 'x'], /^qtask: INVALID_NUMBER: --trunc-days: /],
      [['gen', join(dir, 'missing.yaml'), '--calendar', WEEKDAYS_2020, '--step', '4'], /^qtask: FILE_NOT_FOUND: /],
      [['gen', tplPath, '--calendar', join(dir, 'nocal.txt'), '--step', '4'], /^qtask: FILE_NOT_FOUND: calendar file/],
      [['gen', tplPath, '--calendar', unsorted, '--step', '4'], /^qtask: CALENDAR_UNSORTED: .*unsorted\.txt:3: 2020-01-03 comes after 2020-01-06/],
      [['gen', badYaml, '--calendar', WEEKDAYS_2020, '--step', '4'], /^qtask: PARSE_YAML: .*bad\.yaml:\d+:\d+: invalid YAML/],
      [['gen', badDates, '--calendar', WEEKDAYS_2020, '--step', '4'], /^qtask: VALIDATION: .*dates\.json: dataset\.kwargs\.segments\.test\[0\]: "2017-13-01" is not a date; dataset\.kwargs\.segments\.test\[1\]: "2017-02-30" is not a date/],
      [['gen', noTest, '--calendar', WEEKDAYS_2020, '--step', '4'], /^qtask: VALIDATION: dataset\.kwargs\.segments\.test: is required/],
      [['gen', tplPath, '--calendar', 'weekdays:2020-04-15:2020-12-31', '--step', '4'], /^qtask: DATE_BEFORE_CALENDAR: dataset\.kwargs\.segments\.train\[1\]/],
    ];
    for (const [args, pattern] of cases) {
      const r = qtask(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stdout, '', args.join(' '));
      assert.match(r.stderr, pattern, args.join(' '));
      assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
    }
  });

  it('pipes into `qtask create -`; regenerating is deduplicated by hash', () => {
    const gen = qtask(['gen', tplPath, '--calendar', WEEKDAYS_2020, '--step', '40', '--json']);
    assert.equal(gen.code, 0, gen.stderr);
    const store = `sqlite:${join(dir, 'pipe.db')}`;
    const first = qtask(['--store', store, 'create', '-'], gen.stdout);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /Total Tasks: 5, New Tasks: 5/);
    const again = qtask(['--store', store, 'create', '-'], qtask(['gen', tplPath, '--calendar', WEEKDAYS_2020, '--step', '40']).stdout);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /Total Tasks: 5, New Tasks: 0/);
  });

  it('missing required options are usage errors', () => {
    const r = qtask(['gen', tplPath, '--step', '4']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /--calendar/);
    assert.equal(r.stdout, '');
  });
});
