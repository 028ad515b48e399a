import { Box, Button, Stack, Typography } from '@mui/material';
import type { ReactNode } from 'react';
import { Link as RouterLink } from 'react-router-dom';

/**
 * A page of the console: a region labelled by its one `h1`, with a way back and the page's
 * actions beside the title.
 */
export function PageSection({
  id,
  title,
  back,
  actions,
  children,
}: {
  /** The heading's id (the region is labelled by it). */
  id: string;
  title: ReactNode;
  back?: { to: string; label: string };
  actions?: ReactNode;
  children: ReactNode;
}) {
  return (
    <Box component="section" aria-labelledby={id}>
      <Stack direction="row" spacing={2} sx={{ mb: 2, alignItems: 'center', flexWrap: 'wrap' }}>
        <Typography id={id} variant="h4" component="h1" sx={{ flexGrow: 1 }}>
          {title}
        </Typography>
        {actions}
        {back && (
          <Button component={RouterLink} to={back.to}>
            {back.label}
          </Button>
        )}
      </Stack>
      {children}
    </Box>
  );
}
