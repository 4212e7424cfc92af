/**
 * Model settings that name something to download, and the names derived from them: pure string
 * work, shared by the processes that only name models (the API) and the downloader.
 */

export const HF_SCHEMES = /^(hf|huggingface):/i;

/** A model setting that names something to download: `hf:`/`huggingface:` URIs and http(s) URLs. */
export function isRemoteModel(setting: string): boolean {
  return HF_SCHEMES.test(setting) || /^https?:\/\//i.test(setting);
}

const safe = (text: string) => text.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^_+|_+$/g, '');

/**
 * The file a URI is stored as in MODELS_DIR: derived from the URI alone, so a later start finds
 * it without asking the network. `hf:user/repo/file.gguf` → `hf_user_repo_file.gguf`,
 * `https://host/path/file.gguf` → `host_file.gguf`.
 */
export function downloadFileName(uri: string): string {
  let name: string;
  if (HF_SCHEMES.test(uri)) {
    const [ref = '', branch = 'main'] = uri.replace(HF_SCHEMES, '').split('#');
    const [user = '', repo = '', ...file] = ref.split('/');
    name = ['hf', user, repo, ...(branch === 'main' ? [] : [branch]), ...file].map((part) => safe(part.replace(/:/g, '_'))).join('_');
  } else {
    const url = new URL(uri);
    const last = decodeURIComponent(url.pathname.split('/').filter(Boolean).pop() ?? 'model');
    name = `${safe(url.host)}_${safe(last)}`;
  }
  return name.toLowerCase().endsWith('.gguf') ? name : `${name}.gguf`;
}

/** The display name of a remote model: its file name without directories. */
export function remoteModelName(uri: string): string {
  if (HF_SCHEMES.test(uri)) {
    const rest = uri.replace(HF_SCHEMES, '').replace(/#.*$/, '');
    const parts = rest.split('/');
    if (parts.length > 2) return parts.pop() ?? rest;
    // hf:<user>/<repo>[:<quant>]: the repository, without its tag and a "-GGUF" suffix.
    return (parts[1] ?? rest).replace(/:.*$/, '').replace(/[-_.]gguf$/i, '');
  }
  return decodeURIComponent(new URL(uri).pathname.split('/').filter(Boolean).pop() ?? 'model');
}
