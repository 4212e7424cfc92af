import { Buffer } from 'node:buffer';

/**
 * Embedding vectors as they travel from the pool thread that computes them to the client: OpenAI's
 * `encoding_format: base64`, float32 little-endian. llama.cpp computes float32, so a vector goes
 * through JSON, Redis and the cache without losing a bit, at about a quarter of the size of the
 * same numbers written as JSON. Little-endian is written explicitly: it is what OpenAI's clients
 * decode, whatever the machine's own order.
 */

const BYTES = Float32Array.BYTES_PER_ELEMENT;

export function encodeVector(vector: readonly number[]): string {
  const bytes = Buffer.alloc(vector.length * BYTES);
  vector.forEach((value, i) => bytes.writeFloatLE(value, i * BYTES));
  return bytes.toString('base64');
}

/** The numbers of an encoded vector; each is a float32 value, exactly. */
export function decodeVector(base64: string): number[] {
  const bytes = Buffer.from(base64, 'base64');
  if (bytes.length % BYTES !== 0) throw new Error(`an embedding vector of ${bytes.length} bytes is not float32`);
  const vector = new Array<number>(bytes.length / BYTES);
  for (let i = 0; i < vector.length; i++) vector[i] = bytes.readFloatLE(i * BYTES);
  return vector;
}
