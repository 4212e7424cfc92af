import { z } from 'zod';
import { FILE_PURPOSES } from '../../core/files/file-store.ts';
import { UPLOAD_PURPOSES } from './receive-upload.ts';

/**
 * Bodies of /v1/files in OpenAI's shapes, as its clients read them. The handlers build values of
 * these types and the OpenAPI document is generated from the same schemas.
 */

export const fileObjectSchema = z.object({
  id: z.string().describe('`file-` followed by 32 hex digits.'),
  object: z.literal('file'),
  bytes: z.number().int(),
  created_at: z.number().int().describe('Unix time in seconds.'),
  filename: z.string(),
  purpose: z.enum(FILE_PURPOSES).describe('`batch` for uploads, `batch_output` for the results a batch writes.'),
  status: z.literal('processed').describe('Always `processed`: a file is listed only once it is stored whole.'),
  status_details: z.null(),
  expires_at: z.null().describe('Files are kept until deleted.'),
});
export type FileObject = z.infer<typeof fileObjectSchema>;

export const fileListSchema = z.object({
  object: z.literal('list'),
  data: z.array(fileObjectSchema),
  first_id: z.string().nullable(),
  last_id: z.string().nullable(),
  has_more: z.boolean().describe('More files follow: ask again with `after` set to `last_id`.'),
});
export type FileList = z.infer<typeof fileListSchema>;

export const fileDeletedSchema = z.object({
  id: z.string(),
  object: z.literal('file'),
  deleted: z.literal(true),
});
export type FileDeleted = z.infer<typeof fileDeletedSchema>;

/** The upload form, for the OpenAPI document (the handler reads it with busboy as it streams in). */
export const fileUploadRequestSchema = z
  .object({
    purpose: z.enum(UPLOAD_PURPOSES).describe('Send it before `file`.'),
    file: z.file().describe('The content: JSONL request lines for a batch, at most FILE_MAX_BYTES.'),
  })
  .strict();
