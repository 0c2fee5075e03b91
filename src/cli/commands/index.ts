import type { Command } from 'commander';
import * as cancel from './cancel.ts';
import * as collect from './collect.ts';
import * as create from './create.ts';
import * as gen from './gen.ts';
import * as data from './data.ts';
import * as list from './list.ts';
import * as online from './online.ts';
import * as prioritize from './prioritize.ts';
import * as query from './query.ts';
import * as remove from './remove.ts';
import * as reset from './reset.ts';
import * as show from './show.ts';
import * as stat from './stat.ts';
import * as wait from './wait.ts';
import * as worker from './worker.ts';
import * as run from './run.ts';

export interface CommandModule {
  register(program: Command): void;
}

// Each command module registers itself here.
export const commandModules: CommandModule[] = [list, create, gen, stat, query, show, wait, reset, prioritize, cancel, remove, worker, data, run, collect, online];
