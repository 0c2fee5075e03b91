/**
 * `qtask gen TEMPLATE --calendar FILE --step N|1M …`: expands task templates with RollingGen and
 * prints the tasks as a JSON array on stdout (pipe into `qtask create -`); notes go to stderr.
 */
import type { Command } from 'commander';
import { ValidationError } from '../../errors.ts';
import { Calendar } from '../../generate/calendar.ts';
import { RollingGen } from '../../generate/rollingGen.ts';
import type { RollType } from '../../generate/rollingGen.ts';
import { parseStep } from '../../generate/step.ts';
import { taskGenerator } from '../../generate/taskGen.ts';
import { getSegments } from '../../task/definition.ts';
import { loadTaskDefsFile } from '../../task/load.ts';
import { parseInteger } from '../context.ts';
import { formatTable, note, printJson } from '../output.ts';

interface GenOptions {
  calendar: string;
  step: string;
  rtype: string;
  truncDays?: string;
  clip?: boolean;
  json?: boolean;
}

const WEEKDAYS = /^weekdays:([^:]+):([^:]+)$/;

/** `weekdays:START:END` (the built-in Mon–Fri calendar) or a day.txt-style file. */
export function calendarFromSpec(spec: string): Calendar {
  const m = WEEKDAYS.exec(spec);
  if (m) return Calendar.weekdays(m[1], m[2]);
  return Calendar.fromFile(spec);
}

function parseRtype(text: string): RollType {
  if (text === 'expanding' || text === 'sliding') return text;
  throw new ValidationError([{ path: '--rtype', message: `unknown rtype ${JSON.stringify(text)}` }], { hint: 'use sliding or expanding' });
}

function span(seg: unknown): string {
  if (!Array.isArray(seg)) return '-';
  return `${seg[0] ?? '…'}..${seg[1] ?? '…'}`;
}

export function register(program: Command): void {
  program
    .command('gen')
    .description('generate rolling tasks from a template (JSON/YAML, one task or a list) and print them as a JSON array')
    .argument('<template>', 'template file (.json, .yaml/.yml), or - for stdin')
    .requiredOption('--calendar <file>', 'trading calendar: a qlib calendars/day.txt, or weekdays:START:END for Mon–Fri days')
    .requiredOption('--step <step>', 'window length: trading days (e.g. 40) or a calendar unit 1W, 2W, 1M, 3M, 1Q, 1Y')
    .option('--rtype <type>', 'expanding (train grows) or sliding (train moves)', 'expanding')
    .option('--trunc-days <n>', 'cut train/valid to end at least N trading days before each test start (default: no cut)')
    .option('--clip', "clip the last test window to the template's test end (qlib leaves it running past)")
    .option('--json', 'print only the JSON array (no window table on stderr)')
    .action((template: string, opts: GenOptions) => {
      // Check every option before reading anything, so one run reports flag mistakes first.
      const step = parseStep(opts.step, '--step');
      const rtype = parseRtype(opts.rtype);
      const truncDays = opts.truncDays === undefined ? null : parseInteger(opts.truncDays, '--trunc-days', 0);
      const calendar = calendarFromSpec(opts.calendar);
      const templates = loadTaskDefsFile(template);
      const gen = new RollingGen({
        calendar,
        step: step.kind === 'days' ? step.days : `${step.count}${step.unit}`,
        rtype,
        truncDays,
        clip: opts.clip ?? false,
      });
      const tasks = taskGenerator(templates, gen);
      printJson(tasks);
      if (!opts.json) {
        const keys = [...new Set(tasks.flatMap((t) => Object.keys(getSegments(t) ?? {})))];
        const rows = tasks.map((t, i) => [i, ...keys.map((k) => span(getSegments(t)?.[k]))]);
        note(formatTable(['#', ...keys], rows));
      }
      note(`generated ${tasks.length} task${tasks.length === 1 ? '' : 's'} from ${templates.length} template${templates.length === 1 ? '' : 's'}`);
    });
}
