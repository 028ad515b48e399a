import { defineProblem } from '@app/core';

export const BearerCredentialsRequired = defineProblem({
  code: 'bearer_credentials_required',
  status: 403,
  title: 'Send the credential in the Authorization header',
  description:
    'Uploads are multipart forms, which another site could make a browser send with its cookies; they are accepted only with `Authorization: Bearer <key or session token>`.',
});

export const ModelNotFineTunable = defineProblem({
  code: 'model_not_fine_tunable',
  status: 400,
  title: 'Model cannot be fine-tuned',
  description:
    'The `model` of a fine-tuning job must be a base model of the catalog marked `fineTunable` (fine-tuned models and embedding models are not).',
});

export const IllegalJobTransition = defineProblem({
  code: 'illegal_job_transition',
  status: 409,
  title: 'Not possible in the job’s status',
  description:
    'The job’s status does not allow this request (a finished job cannot be cancelled). `jobStatus` is the current status.',
});

export const TrainingQuotaExceeded = defineProblem({
  code: 'training_quota_exceeded',
  status: 429,
  title: 'Training tokens over the contract’s quota',
  description:
    'The job would train on more tokens (`estimatedTokens`: assistant tokens of the training file × epochs) than the `training_tokens` quota line `line` has left (`remaining`). `retryAt` is when the line’s period ends. Nothing was created.',
});
