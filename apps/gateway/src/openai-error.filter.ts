import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Response } from 'express';
import { OpenAiError, sendOpenAiError } from './openai-error';

/** Whatever escapes a route (unknown paths, body parser errors) answers in OpenAI's shape. */
@Catch()
export class OpenAiErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('OpenAiErrorFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    if (exception instanceof OpenAiError) return sendOpenAiError(res, exception);
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      return sendOpenAiError(
        res,
        new OpenAiError(
          status,
          exception.message,
          status >= 500 ? 'server_error' : 'invalid_request_error',
          status === 404 ? 'not_found' : null,
        ),
      );
    }
    this.logger.error({ err: exception }, 'unhandled gateway error');
    sendOpenAiError(
      res,
      new OpenAiError(500, 'The gateway failed.', 'server_error', 'internal_error'),
    );
  }
}

/** Express error middleware for the JSON body parser: 413 and 400 in OpenAI's shape. */
export function bodyErrors(
  error: { type?: string; status?: number },
  _req: unknown,
  res: Response,
  next: (error?: unknown) => void,
): void {
  if (error?.type === 'entity.too.large') {
    return sendOpenAiError(
      res,
      new OpenAiError(
        413,
        'The request body is too large.',
        'invalid_request_error',
        'request_too_large',
      ),
    );
  }
  if (error?.type === 'entity.parse.failed') {
    return sendOpenAiError(
      res,
      new OpenAiError(
        400,
        'The request body is not valid JSON.',
        'invalid_request_error',
        'invalid_json',
      ),
    );
  }
  if (error?.status && error.status >= 400 && error.status < 500) {
    return sendOpenAiError(
      res,
      new OpenAiError(
        error.status,
        'The request body could not be read.',
        'invalid_request_error',
        null,
      ),
    );
  }
  next(error);
}
