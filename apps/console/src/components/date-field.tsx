import { TextField, type TextFieldProps } from '@mui/material';

/** A day (YYYY-MM-DD, read as UTC by the pages) with the browser's date picker. */
export function DateField(props: Omit<TextFieldProps, 'type'>) {
  return (
    <TextField
      {...props}
      type="date"
      // The picker's own placeholder would overlap a label that sits inside the field.
      slotProps={{ ...props.slotProps, inputLabel: { shrink: true } }}
    />
  );
}

/** Whether `text` is a real calendar day written YYYY-MM-DD (what date fields and `?asOf=` hold). */
export function isDay(text: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return false;
  const day = new Date(`${text}T00:00:00Z`);
  return !Number.isNaN(day.getTime()) && day.toISOString().slice(0, 10) === text;
}
