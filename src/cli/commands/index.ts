import type { Command } from 'commander';

export interface CommandModule {
  register(program: Command): void;
}

// Each command module registers itself here.
export const commandModules: CommandModule[] = [];
