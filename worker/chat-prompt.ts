/**
 * How chat messages become a prompt. A model that ships a chat template (GGUF
 * `tokenizer.chat_template`) is prompted with it, through node-llama-cpp's chat wrappers
 * (a specialised wrapper when one is equivalent to the template, else the Jinja template itself).
 * A model without a template gets the plain format below, documented in docs/openai.md.
 */
import {
  ChatModelFunctionsDocumentationGenerator,
  ChatWrapper,
  LlamaText,
  resolveChatWrapper,
  SpecialToken,
  type ChatHistoryItem,
  type ChatModelFunctions,
  type ChatModelResponse,
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

  /**
   * The functions, said briefly: a model without a template has no tool training to recall, and
   * small models have small contexts. Signatures in TypeScript, then the call syntax:
   *
   * ```
   * Functions you may call:
   * // The weather in a city.
   * function get_weather(params: {city: string, unit: "celsius" | "fahrenheit"});
   * Call one by writing ||call: name({"param": "value"})
   * ```
   */
  override generateAvailableFunctionsSystemText(availableFunctions: ChatModelFunctions, { documentParams = true }: { documentParams?: boolean }): LlamaText {
    const documentation = new ChatModelFunctionsDocumentationGenerator(availableFunctions);
    if (!documentation.hasAnyFunctions) return LlamaText([]);
    return LlamaText.joinValues('\n', [
      'Functions you may call:',
      documentation.getTypeScriptFunctionSignatures({ documentParams }),
      LlamaText(['Call one by writing ', this.generateFunctionCall('name', { param: 'value' })]),
    ]);
  }

  override generateContextState({ chatHistory, availableFunctions, documentFunctionParams }: ChatWrapperGenerateContextStateOptions): ChatWrapperGeneratedContextState {
    // Functions the model may call are described in the system text, in node-llama-cpp's generic syntax.
    const history = this.addAvailableFunctionsSystemMessageToHistory(chatHistory, availableFunctions, { documentParams: documentFunctionParams });
    const lines = history.map((item) => {
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
 *
 * An assistant's calls become function calls of its turn, each with the result its `tool` message
 * gave (the chat wrapper renders them in the model's own syntax). What the assistant says after
 * the results continues that same turn, as a model that called functions continues its answer; a
 * conversation that ends with results ends with that turn, which the model continues.
 */
export function toChatHistory(messages: readonly ChatMessage[]): ChatHistoryItem[] {
  const results = new Map(messages.filter((m) => m.role === 'tool').map((m) => [m.tool_call_id, parsedResult(m.content)]));
  const history: ChatHistoryItem[] = [];
  for (const message of messages) {
    if (message.role === 'system') history.push({ type: 'system', text: message.content });
    else if (message.role === 'user') history.push({ type: 'user', text: message.content });
    else if (message.role === 'assistant') {
      const last = history.at(-1);
      const turn: ChatModelResponse = last?.type === 'model' ? last : { type: 'model', response: [] };
      if (turn !== last) history.push(turn);
      if (message.content !== '') turn.response.push(message.content);
      (message.tool_calls ?? []).forEach((call, i) => {
        turn.response.push({ type: 'functionCall', name: call.name, params: JSON.parse(call.arguments) as unknown, result: results.get(call.id), startsNewChunk: i === 0 });
      });
    }
  }
  if (history.at(-1)?.type !== 'model') history.push({ type: 'model', response: [] });
  return history;
}

/** A tool's result as the model is shown it: the JSON value when its text is JSON, else the text. */
function parsedResult(content: string): unknown {
  try {
    return JSON.parse(content);
  } catch {
    return content;
  }
}

/** Tokens of the rendered prompt, exactly as LlamaChat renders and evaluates it for this history. */
export function chatPromptTokenCount(wrapper: ChatWrapper, history: readonly ChatHistoryItem[], tokenizer: Tokenizer, functions?: ChatModelFunctions): number {
  const state = wrapper.generateContextState({ chatHistory: history, ...(functions ? { availableFunctions: functions, documentFunctionParams: true } : {}) });
  return state.contextText.tokenize(tokenizer).length;
}
