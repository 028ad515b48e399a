import { Public } from '@app/authz';
import { Controller, Get, HttpCode, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { EndpointRoutes } from './endpoint-routes';
import { GatewayKeys } from './gateway-keys';
import { InferenceService } from './inference.service';
import { OpenAiError, sendOpenAiError } from './openai-error';

/**
 * The OpenAI-compatible routes of the data plane (OpenAI API reference: chat completions,
 * completions, embeddings, models). Authentication is the gateway's own (tenant API keys with
 * the `inference` scope), so the routes are public to the control plane's guard, which the
 * gateway does not load. The inference routes are served ahead of Nest by `InferenceHttp`;
 * they reach this controller only when that handler leaves them to Express (compressed bodies,
 * other charsets, other spellings of the path), with the same service behind both.
 */
@Public()
@Controller('v1')
export class InferenceController {
  constructor(
    private readonly inference: InferenceService,
    private readonly keys: GatewayKeys,
    private readonly routes: EndpointRoutes,
  ) {}

  @Post('chat/completions')
  @HttpCode(200)
  chat(@Req() req: Request, @Res() res: Response): Promise<void> {
    return this.inference.handle('chat', req.body, requestIdOf(req), req, res);
  }

  @Post('completions')
  @HttpCode(200)
  completions(@Req() req: Request, @Res() res: Response): Promise<void> {
    return this.inference.handle('completion', req.body, requestIdOf(req), req, res);
  }

  @Post('embeddings')
  @HttpCode(200)
  embeddings(@Req() req: Request, @Res() res: Response): Promise<void> {
    return this.inference.handle('embedding', req.body, requestIdOf(req), req, res);
  }

  /** The models the caller's tenant can call now (a running endpoint with a ready replica). */
  @Get('models')
  async models(@Req() req: Request, @Res() res: Response): Promise<void> {
    try {
      const caller = await this.keys.authenticate(req);
      const models = await this.routes.models(caller.tenantId);
      res.json({
        object: 'list',
        data: models.map((m) => ({
          id: m.id,
          object: 'model',
          created: 0,
          owned_by: caller.tenantId,
        })),
      });
    } catch (error) {
      sendOpenAiError(
        res,
        error instanceof OpenAiError
          ? error
          : new OpenAiError(
              500,
              'The gateway failed to list models.',
              'server_error',
              'internal_error',
            ),
      );
    }
  }
}

/** The id core's request-id middleware gave the request. */
const requestIdOf = (req: Request) => (req as Request & { id?: string }).id ?? '';
