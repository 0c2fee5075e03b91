/**
 * What records need from an experiment recorder. qtask's `Recorder` (src/recorder) satisfies it;
 * tests and embedders can pass anything else with the same shape.
 */
import type { ArtifactValue, LoadedArtifact } from '../recorder/artifacts.ts';

export interface RecordSink {
  saveObjects(objects: Record<string, ArtifactValue>, opts?: { artifactPath?: string }): string[];
  /** Resolves `name`, `name.json`, `name.csv`; throws (code `ARTIFACT_NOT_FOUND`) when absent. */
  loadObject(name: string): LoadedArtifact;
  logMetrics(metrics: Record<string, number>, step?: number): void;
  /** Artifact paths (with extensions), recursive. */
  listArtifacts(path?: string): string[];
}
