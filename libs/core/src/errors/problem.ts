/**
 * RFC 9457 problem details. `type` is a relative reference to `/problems/{code}`, which the API
 * serves (see ProblemsController); `code` repeats the stable machine-readable code.
 */
export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  code: string;
  requestId?: string;
  /** Field errors, for validation problems: `path` uses dots and `[i]`, e.g. `quotaLines[0].limit`. */
  errors?: FieldError[];
  [extension: string]: unknown;
}

export interface FieldError {
  path: string;
  message: string;
}

/** What the `/problems/{code}` page says about a code. */
export interface ProblemType {
  code: string;
  status: number;
  title: string;
  description: string;
}

const catalog = new Map<string, ProblemType>();

/** Every problem type registered so far, by code. */
export function problemTypes(): ReadonlyMap<string, ProblemType> {
  return catalog;
}

export function problemTypeUri(code: string): string {
  return `/problems/${code.replace(/_/g, '-')}`;
}

export interface DomainErrorOptions {
  errors?: FieldError[];
  /** Extra members of the problem body (RFC 9457 §3.2 extension members). */
  extensions?: Record<string, unknown>;
  /** Extra response headers, e.g. `Retry-After`. */
  headers?: Record<string, string>;
  cause?: unknown;
}

/**
 * Base of every error a library throws on purpose. The global filter turns it into a problem
 * body with this code, status and detail; anything that is not a DomainError or an
 * HttpException becomes a 500 whose body says nothing of the internals.
 */
export class DomainError extends Error {
  readonly errors?: FieldError[];
  readonly extensions?: Record<string, unknown>;
  readonly headers?: Record<string, string>;

  constructor(
    readonly problem: ProblemType,
    detail: string,
    options: DomainErrorOptions = {},
  ) {
    super(detail, { cause: options.cause });
    this.name = problem.code;
    this.errors = options.errors;
    this.extensions = options.extensions;
    this.headers = options.headers;
  }
}

export type DomainErrorClass = new (detail?: string, options?: DomainErrorOptions) => DomainError;

/**
 * Declares a problem type and returns its error class. Libraries declare theirs next to the
 * code that throws them, e.g.
 * `export const ContractOverlap = defineProblem({code: 'contract_overlap', status: 409, ...})`.
 *
 * @throws Error when the same code is declared twice with a different status or title.
 */
export function defineProblem(type: ProblemType): DomainErrorClass {
  const existing = catalog.get(type.code);
  if (existing && (existing.status !== type.status || existing.title !== type.title)) {
    throw new Error(`problem code ${type.code} declared twice`);
  }
  catalog.set(type.code, type);
  return class extends DomainError {
    constructor(detail = type.title, options?: DomainErrorOptions) {
      super(type, detail, options);
    }
  };
}
