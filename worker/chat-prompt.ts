/**
 * How chat messages become a prompt. A model that ships a chat template (GGUF
 * `tokenizer.chat_template`) is prompted with it, through node-llama-cpp's chat wrappers
 * (a specialised wrapper when one is equivalent to the template, else the Jinja template itself).
 * A model without a template gets the plain format below, documented in docs/openai.md.
 */
import {
  ChatWrapper,
  LlamaText,
  resolveChatWrapper,
  SpecialToken,
  type ChatHistoryItem,
  type ChatWrapperGenerateContextStateOptions,
  type ChatWrapperGeneratedContextState,
  type LlamaModel,
  type Tokenizer,
} from 'node-llama-cpp';
import type { ChatMessage } from '../core/job-contract.ts';

const ROLE_TITLES = { system: 'System', user: 'User', model: 'Assistant' } as const;

/**
 * The fallback format for models without a chat template:
 *
 * ```
 * <BOS>System: {system}
 * User: {user}
 * Assistant: {assistant}
 * User: {user}
 * Assistant:
 * ```
 *
 * Generation stops at end of sequence or when the model starts a new turn (`\nUser:`,
 * `\nSystem:` or `\nAssistant:`). Message texts are plain text: special tokens in them are
 * not parsed, so a message cannot forge a turn boundary the tokenizer would honour.
 */
export class PlainChatWrapper extends ChatWrapper {
  readonly wrapperName = 'Plain';

  override generateContextState({ chatHistory }: ChatWrapperGenerateContextStateOptions): ChatWrapperGeneratedContextState {
    const lines = chatHistory.map((item) => {
      if (item.type === 'system') return LlamaText([`${ROLE_TITLES.system}: `, LlamaText.fromJSON(item.text)]);
      if (item.type === 'user') return LlamaText([`${ROLE_TITLES.user}: `, item.text]);
      const response = this.generateModelResponseText(item.response);
      // The empty last turn ends with "Assistant:" and no space: the model picks its own first
      // token, which usually carries the space (the detokenizer drops it at the start of the answer).
      return response.values.length === 0 ? LlamaText(`${ROLE_TITLES.model}:`) : LlamaText([`${ROLE_TITLES.model}: `, response]);
    });
    return {
      contextText: LlamaText([new SpecialToken('BOS'), LlamaText.joinValues('\n', lines)]),
      stopGenerationTriggers: [
        LlamaText(new SpecialToken('EOS')),
        ...Object.values(ROLE_TITLES).map((title) => LlamaText(`\n${title}:`)),
      ],
    };
  }
}

/**
 * The model's own template when it has one, else the plain format. Resolved once per loaded model.
 * (node-llama-cpp would guess a wrapper from the architecture or file name of a model without a
 * template; a guess is not the model's format, so the documented plain format is used instead.)
 */
export function chatWrapperFor(model: LlamaModel): ChatWrapper {
  const template = model.fileInfo.metadata.tokenizer?.chat_template;
  if (typeof template === 'string' && template.trim() !== '') return resolveChatWrapper(model, { warningLogs: false });
  return new PlainChatWrapper();
}

/**
 * Messages as node-llama-cpp's chat history. The history always ends with a model turn: an
 * empty one to answer the last message, or the client's own last assistant message, which the
 * model then continues (a prefill, as llama.cpp's server does).
 */
export function toChatHistory(messages: readonly ChatMessage[]): ChatHistoryItem[] {
  const history: ChatHistoryItem[] = messages.map((message) => {
    if (message.role === 'system') return { type: 'system', text: message.content };
    if (message.role === 'user') return { type: 'user', text: message.content };
    return { type: 'model', response: [message.content] };
  });
  if (history.at(-1)?.type !== 'model') history.push({ type: 'model', response: [] });
  return history;
}

/** Tokens of the rendered prompt, exactly as LlamaChat renders and evaluates it for this history. */
export function chatPromptTokenCount(wrapper: ChatWrapper, history: readonly ChatHistoryItem[], tokenizer: Tokenizer): number {
  return wrapper.generateContextState({ chatHistory: history }).contextText.tokenize(tokenizer).length;
}
