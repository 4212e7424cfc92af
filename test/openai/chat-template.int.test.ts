import { mkdtempSync, openSync, readSync, closeSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { getLlama, type LlamaModel } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readGguf } from '../../core/model/gguf-reader.ts';
import { GgufValueType } from '../../core/model/gguf-types.ts';
import { writeGguf } from '../../core/model/gguf-writer.ts';
import { chatPromptTokenCount, chatWrapperFor, PlainChatWrapper, toChatHistory } from '../../worker/chat-prompt.ts';
import { http, startStack, TINY_MODEL, type TestStack } from '../support/stack.ts';

/** A template no specialised wrapper matches, so the Jinja template itself must be applied. */
const TEMPLATE =
  "{{ bos_token }}{% for message in messages %}<{{ message['role'] }}>{{ message['content'] }}</{{ message['role'] }}>\n{% endfor %}" +
  '{% if add_generation_prompt %}<assistant>{% endif %}';

/** stories260K with a chat template added to its metadata (weights copied byte for byte). */
function withChatTemplate(source: string, target: string): void {
  const file = readGguf(source);
  const fd = openSync(source, 'r');
  try {
    writeGguf(target, {
      version: file.version,
      metadata: [...file.metadata, { key: 'tokenizer.chat_template', type: GgufValueType.STRING, value: TEMPLATE }],
      tensors: file.tensors.map((tensor) => ({
        name: tensor.name,
        dims: tensor.dims,
        type: tensor.type,
        data: () => {
          const bytes = new Uint8Array(tensor.size);
          readSync(fd, bytes, 0, tensor.size, file.dataOffset + tensor.offset);
          return bytes;
        },
      })),
    });
  } finally {
    closeSync(fd);
  }
}

describe('POST /v1/chat/completions with a model that has its own chat template', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'chat-template-'));
  const modelFile = path.join(dir, 'stories-with-template.gguf');
  const messages = [
    { role: 'system' as const, content: 'You are brief.' },
    { role: 'user' as const, content: 'Tell me about a frog.' },
  ];
  let stack: TestStack;
  let model: LlamaModel;

  beforeAll(async () => {
    withChatTemplate(TINY_MODEL, modelFile);
    // The model as is (no INT8 copy), so the test can load the very same file.
    stack = await startStack({ env: { MODEL: modelFile, MODELS_DIR: dir, USE_INT8: 'false' } });
    const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' as never });
    model = await llama.loadModel({ modelPath: modelFile });
  });
  afterAll(async () => {
    await model?.dispose();
    await stack?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('prompts it through the template, not the plain fallback format', async () => {
    const wrapper = chatWrapperFor(model);
    expect(wrapper).not.toBeInstanceOf(PlainChatWrapper);
    expect(wrapper.wrapperName).toBe('JinjaTemplate');
    const rendered = wrapper.generateContextState({ chatHistory: toChatHistory(messages) }).contextText.toString();
    expect(rendered).toContain('<system>You are brief.</system>\n<user>Tell me about a frog.</user>\n<assistant>');

    const res = await http(stack.baseUrl, 'POST', '/v1/chat/completions', { model: stack.api.deps.modelId, messages, max_tokens: 8, temperature: 0 });
    expect(res.status).toBe(200);
    expect(res.body.usage.completion_tokens).toBeGreaterThan(0);
    // The worker counted the prompt as the template renders it, which the plain format does not.
    const history = toChatHistory(messages);
    const templated = chatPromptTokenCount(wrapper, history, model.tokenizer);
    expect(res.body.usage.prompt_tokens).toBe(templated);
    expect(templated).not.toBe(chatPromptTokenCount(new PlainChatWrapper(), history, model.tokenizer));
  });

  it('shows in /v1/models that the model has a chat template', async () => {
    const res = await http(stack.baseUrl, 'GET', '/v1/models');
    expect(res.body.data[0]).toMatchObject({ id: stack.api.deps.modelId, has_chat_template: true });
  });
});
