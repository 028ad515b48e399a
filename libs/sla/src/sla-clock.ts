import { Injectable } from '@nestjs/common';

/**
 * The SLA library's clock: every "now" of its month windows, live reports, maintenance-window
 * checks and evaluations comes from here, so month computations can be tested (and replayed) at
 * any instant. The real time unless {@link set} fixed it.
 */
@Injectable()
export class SlaClock {
  private fixed: Date | null = null;

  now(): Date {
    return this.fixed ? new Date(this.fixed) : new Date();
  }

  /** Fixes the clock at `at` (null: back to the real time). For tests and replays. */
  set(at: Date | null): void {
    this.fixed = at ? new Date(at) : null;
  }
}
