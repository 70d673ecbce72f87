import type { ArmSource } from '../engine/arms.ts';
import type { EngineDeps } from '../engine/context.ts';
import { InfrastructureError } from '../util/errors.ts';
import { calibrationRows, renderCalibration, type CalibrationRow } from '../report/calibration.ts';
import type { Suite } from '../suite/schema.ts';
import { runGate, type GateOutcome, type GateRequest } from './runGate.ts';

/**
 * Calibration: the proxy against an identical twin in one run (an A/A comparison). How far the
 * twin lands from the proxy is this runner's noise; with it, what the suite's budget can detect.
 * `athena-bench calibrate` and the Action's `mode: calibrate` both call this.
 */

export interface CalibrationRequest extends Omit<GateRequest, 'arms' | 'reference'> {
  /** The proxy as the gate runs it (arm name 'proxy'). */
  proxy: ArmSource;
  /** The same proxy on ports of its own, not built again (arm name 'twin'). */
  twin: ArmSource;
  /** The regression (in %) to size the budget for. */
  targetPct: number;
  /** Work-channel windows per arm (default: the suite's): fewer for a quicker, coarser table. */
  windows?: number;
}

export interface CalibrationOutcome {
  outcome: GateOutcome;
  rows: CalibrationRow[];
  /** The calibration table (markdown) and what the A/A verdict means, with the runner it describes. */
  text: string;
}

export const TWIN_ARM = 'twin';

export async function calibrate(request: CalibrationRequest, deps: EngineDeps): Promise<CalibrationOutcome> {
  const { proxy, twin, targetPct, windows, ...options } = request;
  const suite = withWindows(options.suite, windows);
  const outcome = await runGate(
    {
      ...options,
      suite,
      arms: [proxy, twin],
      reference: {
        kind: 'base-ref',
        ref: 'an identical twin',
        commit: null,
        headArm: 'proxy',
        baseArm: TWIN_ARM,
      },
    },
    deps,
  );
  const comparison = outcome.comparison;
  if (!comparison) throw new InfrastructureError('the A/A run gave no comparison');
  const rows = calibrationRows(comparison, targetPct);
  const { environment, ...results } = outcome.results;
  const fewer =
    suite.work.windows < options.suite.work.windows
      ? `Work channel: ${suite.work.windows} windows per arm (the suite gates with ${options.suite.work.windows}; ` +
        'the Samples columns say what each figure rests on).\n\n'
      : '';
  const text =
    `Suite ${results.suite.name}, ${environment.cpuModel}, ${environment.cores} cores\n\n` +
    `${renderCalibration(rows, targetPct)}\n${fewer}` +
    `A/A verdict: ${comparison.verdict} (a regressed A/A is a false alarm: raise that metric's threshold).\n`;
  return { outcome, rows, text };
}

/** The suite with `windows` settled work windows per arm (at most twice as many while settling). */
function withWindows(suite: Suite, windows: number | undefined): Suite {
  if (windows === undefined) return suite;
  const maxWindows = Math.max(windows, Math.min(suite.work.maxWindows, 2 * windows));
  return { ...suite, work: { ...suite.work, windows, maxWindows } };
}
