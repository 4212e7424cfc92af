import { LlamaText, type ChatModelFunctions, type ChatWrapper, type ChatWrapperGeneratedContextState, type GbnfJsonSchema } from 'node-llama-cpp';
import type { JobTools } from '../core/contract/tools.ts';

/**
 * Function calling through node-llama-cpp's chat wrappers: the wrapper describes the functions to
 * the model and renders calls in the model's own syntax; LlamaChat detects a call as the model
 * starts one and from then on constrains it with grammars, first to one of the functions' names,
 * then to arguments valid against that function's schema. So every call it reports is valid, even
 * from a model with no tool training.
 */

/** A job's functions as LlamaChat takes them. No handler: a call ends the generation (`functionCalls`). */
export function chatFunctions(tools: JobTools): ChatModelFunctions {
  return Object.fromEntries(
    tools.functions.map((fn) => [
      fn.name,
      {
        ...(fn.description === undefined ? {} : { description: fn.description }),
        // The subset's forms are GbnfJsonSchema's (core/contract/grammar-schema.ts).
        ...(fn.parameters === undefined ? {} : { params: fn.parameters as GbnfJsonSchema }),
      },
    ]),
  );
}

/**
 * The wrapper, made to begin the answer with a call (`tool_choice` required or named): its context
 * ends with the call prefix of its function syntax, after which LlamaChat's grammars take over, so
 * the model can only write a name of the functions it was given, then valid arguments. The same
 * object in all else: `Object.create` keeps every setting and method of the wrapper.
 */
export function forcingACall(wrapper: ChatWrapper): ChatWrapper {
  const forced = Object.create(wrapper) as ChatWrapper;
  forced.generateContextState = (options): ChatWrapperGeneratedContextState => {
    const { contextText, stopGenerationTriggers } = wrapper.generateContextState(options);
    const { call, parallelism } = wrapper.settings.functions;
    return {
      contextText,
      stopGenerationTriggers,
      // No prefix triggers: nothing may come before the call, not a thought, not text.
      noPrefixTrigger: { type: 'functionCall', inject: LlamaText([parallelism?.call.sectionPrefix ?? '', call.prefix]) },
    };
  };
  return forced;
}
