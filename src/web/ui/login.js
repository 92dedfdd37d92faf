// Sign-in: trades the token for a session cookie once, then reloads the page (same URL, same query).
'use strict';
document.getElementById('login').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const err = document.getElementById('login-error');
  err.textContent = '';
  const token = document.getElementById('token').value.trim();
  try {
    const r = await fetch('/api/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }), credentials: 'same-origin' });
    if (r.ok) { location.reload(); return; }
    const body = await r.json().catch(() => null);
    err.textContent = (body && body.error && body.error.message) || `sign-in failed (${r.status})`;
  } catch (e) {
    err.textContent = `sign-in failed: ${e.message}`;
  }
});
