import { TenantDb, TenantId } from '@app/authz';
import { Actor, actorRef, AppConfig, InjectConfig, NotFound, ValidationFailed } from '@app/core';
import { storedProfile, TenantService } from '@app/tenancy';
import { Injectable, Logger } from '@nestjs/common';
import { createHash, randomBytes } from 'node:crypto';
import type { ReadStream } from 'node:fs';
import { newestFirstPage, OpenAiPage } from '../openai-page';
import { FileStorage } from './file-storage';
import { trainingTokensPerEpoch } from '@app/language-model';
import { checkTrainingFile, parseTrainingFile } from './training-file-check';
import { TrainingFile } from './training-file.entity';

export const FILE_PURPOSES = ['fine-tune'] as const;

export interface Upload {
  filename: string;
  bytes: Buffer;
  purpose: unknown;
}

/**
 * A tenant's fine-tuning files (OpenAI `/v1/files`): upload (checked line by line, stored, tagged
 * with the tenant's data classification), list, read, download, delete. Runs in the request's
 * tenant-scoped transaction; the bytes are written before the row and removed again if the
 * transaction rolls back, and removed after a delete commits.
 */
@Injectable()
export class TrainingFileService {
  private readonly logger = new Logger('TrainingFiles');

  constructor(
    private readonly db: TenantDb,
    private readonly storage: FileStorage,
    private readonly tenants: TenantService,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  /**
   * @throws ValidationFailed (400): a purpose other than `fine-tune`, an empty or overlong file
   *   name, or content problems, each naming its line (`file:<line>`), at most 20 listed
   */
  async upload(tenantId: TenantId, upload: Upload, by: Actor): Promise<TrainingFile> {
    if (!FILE_PURPOSES.includes(upload.purpose as 'fine-tune')) {
      throw new ValidationFailed('Unsupported purpose.', {
        errors: [{ path: 'purpose', message: `must be one of: ${FILE_PURPOSES.join(', ')}` }],
      });
    }
    const filename = upload.filename.trim();
    if (filename.length === 0 || filename.length > 255) {
      throw new ValidationFailed('Bad file name.', {
        errors: [{ path: 'file', message: 'the file name must be 1 to 255 characters' }],
      });
    }
    const checked = checkTrainingFile(upload.bytes, this.config.FILES_MAX_LINES);
    if (checked.errors.length > 0) {
      throw new ValidationFailed(
        `The file is not valid fine-tuning data (${checked.errors.length + checked.unreported} problem(s)).`,
        { errors: checked.errors, extensions: { unreportedErrors: checked.unreported } },
      );
    }
    const tenant = await this.tenants.get(tenantId);
    const id = `file-${randomBytes(12).toString('hex')}`;
    const storageKey = `${tenantId}/${id}`;
    await this.storage.put(storageKey, upload.bytes);
    this.db.afterRollback(() => this.storage.remove(storageKey));
    await this.db.manager.getRepository(TrainingFile).insert({
      id,
      tenantId,
      filename,
      purpose: 'fine-tune',
      bytes: upload.bytes.length,
      lineCount: checked.lines,
      sha256: createHash('sha256').update(upload.bytes).digest('hex'),
      trainingTokens: trainingTokensPerEpoch(parseTrainingFile(upload.bytes)),
      dataClassification: storedProfile(tenant.complianceProfile).dataClassification,
      storageKey,
      createdBy: actorRef(by),
    });
    return this.get(tenantId, id);
  }

  /** Newest first; `after` is the id of the last file of the previous page (OpenAI paging). */
  async list(
    tenantId: TenantId,
    { limit, after, purpose }: { limit: number; after?: string; purpose?: string },
  ): Promise<OpenAiPage<TrainingFile>> {
    const query = this.db.manager
      .getRepository(TrainingFile)
      .createQueryBuilder('f')
      .where('f.tenant_id = :tenantId', { tenantId });
    if (purpose) query.andWhere('f.purpose = :purpose', { purpose });
    return newestFirstPage(query, { limit, after }, (id) => this.get(tenantId, id), 'file');
  }

  /** @throws NotFound for no such file in this tenant (another tenant's too). */
  async get(tenantId: TenantId, id: string): Promise<TrainingFile> {
    const file = /^file-[0-9a-f]{24}$/.test(id)
      ? await this.db.manager.getRepository(TrainingFile).findOneBy({ tenantId, id })
      : null;
    if (!file) throw new NotFound('No such file.');
    return file;
  }

  /** The file's bytes. @throws NotFound */
  async content(
    tenantId: TenantId,
    id: string,
  ): Promise<{ file: TrainingFile; stream: ReadStream }> {
    const file = await this.get(tenantId, id);
    const storageKey = await this.storageKeyOf(tenantId, id);
    return { file, stream: this.storage.open(storageKey) };
  }

  /**
   * The file's bytes, checked against the SHA-256 recorded at upload.
   *
   * @throws NotFound; Error when the stored bytes are gone or differ from what was uploaded
   */
  async bytes(tenantId: TenantId, id: string): Promise<{ file: TrainingFile; bytes: Buffer }> {
    const file = await this.get(tenantId, id);
    const storageKey = await this.storageKeyOf(tenantId, id);
    const bytes = await this.storage.read(storageKey);
    if (createHash('sha256').update(bytes).digest('hex') !== file.sha256) {
      throw new Error(`the stored bytes of ${id} differ from the upload`);
    }
    return { file, bytes };
  }

  /** Where a file's bytes are (a column the API never shows). */
  private async storageKeyOf(tenantId: TenantId, id: string): Promise<string> {
    const { storageKey } = await this.db.manager
      .getRepository(TrainingFile)
      .findOneOrFail({ select: { id: true, storageKey: true }, where: { tenantId, id } });
    return storageKey;
  }

  /** Deletes the row now and the bytes once that commits. @throws NotFound */
  async remove(tenantId: TenantId, id: string): Promise<void> {
    await this.get(tenantId, id);
    const storageKey = await this.storageKeyOf(tenantId, id);
    await this.db.manager.getRepository(TrainingFile).delete({ tenantId, id });
    this.db.afterCommit(() =>
      this.storage
        .remove(storageKey)
        .catch((error: unknown) =>
          this.logger.warn({ err: error, id }, 'removing a deleted file’s bytes failed'),
        ),
    );
  }
}
