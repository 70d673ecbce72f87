import type { ArmSource } from '../engine/arms.ts';
import type { EngineDeps } from '../engine/context.ts';
import { InfrastructureError } from '../errors.ts';
import { calibrationRows, renderCalibration, type CalibrationRow } from '../report/calibration.ts';
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
}

export interface CalibrationOutcome {
  outcome: GateOutcome;
  rows: CalibrationRow[];
  /** The calibration table (markdown) and what the A/A verdict means, with the runner it describes. */
  text: string;
}

export const TWIN_ARM = 'twin';

export async function calibrate(request: CalibrationRequest, deps: EngineDeps): Promise<CalibrationOutcome> {
  const { proxy, twin, targetPct, ...options } = request;
  const outcome = await runGate(
    {
      ...options,
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
  const { environment, suite } = outcome.results;
  const text =
    `Suite ${suite.name}, ${environment.cpuModel}, ${environment.cores} cores\n\n` +
    `${renderCalibration(rows, targetPct)}\n` +
    `A/A verdict: ${comparison.verdict} (a regressed A/A is a false alarm: raise that metric's threshold).\n`;
  return { outcome, rows, text };
}
