/** One measured figure with the reference it is compared to, measured in the same run. */
export interface Figure {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  readonly reference: number | null;
  readonly ratio: number | null;
  /** Set when the figure could not be measured in this run, with the reason. */
  readonly skipped?: string;
}
