import { defineProblem } from '@app/core';

export const BearerCredentialsRequired = defineProblem({
  code: 'bearer_credentials_required',
  status: 403,
  title: 'Send the credential in the Authorization header',
  description:
    'Uploads are multipart forms, which another site could make a browser send with its cookies; they are accepted only with `Authorization: Bearer <key or session token>`.',
});
