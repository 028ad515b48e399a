import { Box, Typography } from '@mui/material';
import {
  CartesianGrid,
  Legend,
  Line,
  LineChart,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts';
import type { FineTuningEvent } from '../api';
import { Empty, visuallyHidden } from './states';

interface LossPoint {
  step: number;
  train_loss?: number;
  valid_loss?: number;
}

const loss = (value: number | undefined) => (value === undefined ? '—' : value.toFixed(4));

/** The job's `metrics` events as points by step (an event repeated by a retry counts once). */
export function lossPoints(events: FineTuningEvent[]): LossPoint[] {
  const byStep = new Map<number, LossPoint>();
  for (const event of events) {
    const data = event.data;
    if (event.type !== 'metrics' || typeof data?.step !== 'number') continue;
    byStep.set(data.step, {
      step: data.step,
      ...(typeof data.train_loss === 'number' ? { train_loss: data.train_loss } : {}),
      ...(typeof data.valid_loss === 'number' ? { valid_loss: data.valid_loss } : {}),
    });
  }
  return [...byStep.values()].sort((a, b) => a.step - b.step);
}

/**
 * Training loss per step and validation loss where measured (each epoch's end), from the job's
 * `metrics` events; the figures are also given as text for screen readers.
 */
export function LossCurve({
  events,
  totalSteps,
}: {
  events: FineTuningEvent[];
  totalSteps?: number;
}) {
  const points = lossPoints(events);
  const validation = points.filter((p) => p.valid_loss !== undefined);
  const first = points[0];
  const last = points.at(-1);
  return (
    <Box component="figure" sx={{ m: 0 }} aria-labelledby="loss-curve-title">
      <Typography id="loss-curve-title" component="figcaption" variant="subtitle1">
        Loss curve (nats per token)
      </Typography>
      {!first || !last ? (
        <Empty>No training step has been recorded yet.</Empty>
      ) : (
        <>
          <Typography variant="body2" color="text.secondary" role="status">
            Step {last.step}
            {totalSteps ? ` of ${totalSteps}` : ''}: training loss {loss(last.train_loss)}
            {validation.length
              ? `, validation loss ${loss(validation.at(-1)!.valid_loss)} at step ${validation.at(-1)!.step}`
              : ''}
          </Typography>
          <Box sx={{ height: 280 }} aria-hidden data-testid="loss-curve">
            <ResponsiveContainer width="100%" height="100%">
              <LineChart data={points} margin={{ top: 8, right: 16, bottom: 16, left: 0 }}>
                <CartesianGrid strokeDasharray="3 3" />
                <XAxis
                  dataKey="step"
                  type="number"
                  domain={['dataMin', 'dataMax']}
                  allowDecimals={false}
                  label={{ value: 'step', position: 'insideBottom', offset: -8 }}
                />
                <YAxis width={56} tickFormatter={(value: number) => value.toFixed(2)} />
                <Tooltip formatter={(value) => Number(value).toFixed(4)} />
                <Legend verticalAlign="top" />
                <Line
                  type="monotone"
                  dataKey="train_loss"
                  name="training loss"
                  stroke="#1f4e79"
                  dot={false}
                  isAnimationActive={false}
                />
                <Line
                  type="monotone"
                  dataKey="valid_loss"
                  name="validation loss"
                  stroke="#c0504d"
                  connectNulls
                  isAnimationActive={false}
                />
              </LineChart>
            </ResponsiveContainer>
          </Box>
          <Box sx={visuallyHidden}>
            Training loss {loss(first.train_loss)} at step {first.step}, {loss(last.train_loss)} at
            step {last.step}.
            {validation.length > 0 && (
              <ul>
                {validation.map((p) => (
                  <li key={p.step}>
                    Validation loss at step {p.step}: {loss(p.valid_loss)}
                  </li>
                ))}
              </ul>
            )}
          </Box>
        </>
      )}
    </Box>
  );
}
