/**
 * The text a job reports, given node-llama-cpp's final response and the text chunks it emitted on
 * the way (everything the job's stream carries). Readers rely on the chunks adding up to the
 * result, so the response is used only when it extends them (it may hold a last piece no chunk
 * carried). Otherwise the chunks are: node-llama-cpp detokenizes the whole response in context and
 * a chunk alone, which can differ at the start (a first token " Once" is the chunk "Once" but the
 * response " Once…"), and text already streamed cannot be taken back.
 */
export function finalText(response: string, emitted: string): string {
  return response.startsWith(emitted) ? response : emitted;
}
