import type { ChatMessage } from '../../../core/job-contract.ts';
import type { ResponseInputMessage, ResponseRequest } from './request-schema.ts';

const roleOf = (role: ResponseInputMessage['role']): ChatMessage['role'] => (role === 'developer' ? 'system' : role);

// Joined as the chat endpoint joins text parts, so the same conversation makes the same prompt (and job).
const textOf = (content: ResponseInputMessage['content']) => (typeof content === 'string' ? content : content.map((part) => part.text).join('\n'));

/**
 * The conversation a Responses request stands for, as a chat job carries it: the instructions as a
 * first system message (unless empty), then the input (a string is one user message). Developer
 * messages are system messages, as in chat completions.
 */
export function inputMessages(request: Pick<ResponseRequest, 'input' | 'instructions'>): ChatMessage[] {
  const instructions: ChatMessage[] = request.instructions ? [{ role: 'system', content: request.instructions }] : [];
  if (typeof request.input === 'string') return [...instructions, { role: 'user', content: request.input }];
  return [...instructions, ...request.input.map((message) => ({ role: roleOf(message.role), content: textOf(message.content) }))];
}
