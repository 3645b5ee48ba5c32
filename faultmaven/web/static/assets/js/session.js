// Who is signed in, shared by the views (set by main.js once GET /auth/me succeeds).

export const session = { user: null };

export function isAdmin() {
  return Boolean(session.user?.roles?.includes('admin'));
}
