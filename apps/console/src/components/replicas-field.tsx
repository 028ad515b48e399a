import { TextField } from '@mui/material';

/**
 * What is wrong with a min/max pair as typed, keyed as the API's field errors (the API also
 * refuses `minReplicas` above `maxReplicas`).
 */
export function replicaErrors(min: string, max: string): Record<string, string> {
  const whole = (text: string) => (/^\d+$/.test(text.trim()) ? Number(text) : undefined);
  const [low, high] = [whole(min), whole(max)];
  return low !== undefined && high !== undefined && low > high
    ? { minReplicas: 'Must not exceed max replicas' }
    : {};
}

/**
 * A replica count of an endpoint's spec (`minReplicas` 0-64, `maxReplicas` 1-64, API.md), with
 * the server's field error for it when there is one.
 */
export function ReplicasField({
  name,
  value,
  onChange,
  errors,
}: {
  name: 'minReplicas' | 'maxReplicas';
  value: string;
  onChange: (value: string) => void;
  errors: Record<string, string>;
}) {
  return (
    <TextField
      label={name === 'minReplicas' ? 'Min replicas' : 'Max replicas'}
      type="number"
      value={value}
      onChange={(event) => onChange(event.target.value)}
      error={Boolean(errors[name])}
      helperText={errors[name] ?? ' '}
      slotProps={{ htmlInput: { min: name === 'minReplicas' ? 0 : 1, max: 64, step: 1 } }}
      size="small"
      sx={{ flex: 1 }}
      required
    />
  );
}
