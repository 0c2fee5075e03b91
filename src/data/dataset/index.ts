export { DatasetH, createDataset, parseSegments, type Segment, type PrepareOptions } from './dataset.ts';
