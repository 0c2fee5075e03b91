export { synthMarket, generateMarket, synthSymbol, SYNTH_FIELDS } from './synth.ts';
export type { SynthOptions, SynthSummary } from './synth.ts';
export { Prng } from './prng.ts';
