/** What a controller's set() gets besides its directory and values. */
export interface SetCtx {
  /** `tsrun update` (vs create): enables checkBeforeUpdate and update-only orderings. */
  update: boolean;
  /** A setting that is accepted but can't take effect here (logged by the caller). */
  warn(msg: string): void;
}
