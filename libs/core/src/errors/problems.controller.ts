import { Controller, Get, Param } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { NotFound } from './common-problems';
import { problemTypes, problemTypeUri, ProblemType } from './problem';
import { Public } from '../http/public.decorator';

/** Serves the page each problem `type` points to (RFC 9457 §3.1.1: the type URI should resolve). */
@ApiExcludeController()
@Public()
@Controller('problems')
export class ProblemsController {
  @Get()
  list(): { data: (ProblemType & { type: string })[] } {
    return {
      data: [...problemTypes().values()].map((type) => ({
        type: problemTypeUri(type.code),
        ...type,
      })),
    };
  }

  @Get(':slug')
  describe(@Param('slug') slug: string): ProblemType & { type: string } {
    const type = problemTypes().get(slug.replace(/-/g, '_'));
    if (!type) throw new NotFound(`No problem type "${slug}".`);
    return { type: problemTypeUri(type.code), ...type };
  }
}
