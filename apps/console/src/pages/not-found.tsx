import { Box, Link, Typography } from '@mui/material';
import { Link as RouterLink } from 'react-router-dom';

/** What the API's 404 becomes: nothing here, or nothing you may know exists. */
export function NotFoundPage({ what = 'page' }: { what?: string }) {
  return (
    <Box component="section" aria-labelledby="not-found-title" sx={{ p: 2 }}>
      <Typography id="not-found-title" variant="h4" component="h1" gutterBottom>
        Not found
      </Typography>
      <Typography gutterBottom>
        No {what} found at this address, or none that is yours to see.
      </Typography>
      <Link component={RouterLink} to="/">
        Back to the start
      </Link>
    </Box>
  );
}
