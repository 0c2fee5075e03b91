/** qtask public API. */
export * from './errors.ts';
export * from './task/types.ts';
export * from './task/canonical.ts';
export type * from './store/types.ts';
