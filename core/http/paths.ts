/**
 * Where Bull Board is served, by the dashboard process and by `npm start` alike. Here rather than
 * in dashboard/ because the API needs it too: the board asks for credentials of its own, so the
 * API's key check leaves this subtree alone.
 */
export const BOARD_PATH = '/admin/queues';
