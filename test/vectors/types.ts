/** One vector file's outcome, as printed by test/vectors/run.ts. */
export interface VectorFileResult {
  /** File name (or file name plus a qualifier such as a backend: "crypto-basics.json [webcrypto]"). */
  file: string;
  passed: number;
  failed: number;
  /** One short line per failed case: which case, which check. Never secrets. */
  failures: string[];
}

export type VectorSuite = (log: (line: string) => void) => Promise<VectorFileResult[]>;
