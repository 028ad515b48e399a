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
