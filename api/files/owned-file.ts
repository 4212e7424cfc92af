import { notFound } from '../../core/errors.ts';
import type { FileStore, StoredFile } from '../../core/files/file-store.ts';
import type { Viewer } from '../job-service.ts';
import type { FileObject } from './file-schemas.ts';

export const fileNotFound = (id: string) => notFound(`no such file: ${id}`);

export const canSee = (viewer: Viewer, file: StoredFile) => viewer.admin || file.tenant === viewer.tenant;

/** The file, when the caller may see it. Another tenant's file is answered exactly as an unknown id. */
export async function ownedFile(store: FileStore, id: string, viewer: Viewer): Promise<StoredFile> {
  const file = await store.get(id);
  if (!file || !canSee(viewer, file)) throw fileNotFound(id);
  return file;
}

/** OpenAI's file object: the record without its owner, whom clients never see. */
export function toFileObject(file: StoredFile): FileObject {
  return {
    id: file.id,
    object: 'file',
    bytes: file.bytes,
    created_at: file.created_at,
    filename: file.filename,
    purpose: file.purpose,
    status: 'processed',
    status_details: null,
    expires_at: null,
  };
}
