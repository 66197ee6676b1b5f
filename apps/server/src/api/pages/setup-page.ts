/**
 * The page the one-time setup link opens: a form that creates the owner account through
 * POST /api/v1/auth/setup. Self-contained (no build step, no external assets).
 */
export const SETUP_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Set up Parley</title>
<style>
  body { font-family: system-ui, sans-serif; background: #f6f7f9; color: #111; display: grid; place-items: center; min-height: 100vh; margin: 0; }
  main { background: #fff; padding: 2rem; border-radius: 12px; box-shadow: 0 2px 12px rgba(0,0,0,.08); width: min(420px, 92vw); }
  h1 { margin-top: 0; font-size: 1.4rem; }
  label { display: block; margin: .8rem 0 .2rem; font-size: .9rem; }
  input { width: 100%; box-sizing: border-box; padding: .55rem; border: 1px solid #ccd; border-radius: 6px; font-size: 1rem; }
  button { margin-top: 1.2rem; width: 100%; padding: .7rem; border: 0; border-radius: 6px; background: #2b59c3; color: #fff; font-size: 1rem; cursor: pointer; }
  .error { color: #b00020; margin-top: .8rem; white-space: pre-line; }
  .done { color: #136f2d; }
</style>
</head>
<body>
<main>
  <h1>Welcome to Parley</h1>
  <p>Create the owner account of this instance. This link works once.</p>
  <form id="setup">
    <label for="name">Your name</label><input id="name" name="name" required autocomplete="name">
    <label for="email">Email</label><input id="email" name="email" type="email" required autocomplete="email">
    <label for="password">Password (10 characters or more)</label><input id="password" name="password" type="password" minlength="10" required autocomplete="new-password">
    <label for="organizationName">Organization</label><input id="organizationName" name="organizationName" required>
    <button type="submit">Create owner account</button>
    <p class="error" id="error" role="alert"></p>
  </form>
</main>
<script>
  const form = document.getElementById('setup');
  const token = new URLSearchParams(location.search).get('token') || '';
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const body = Object.fromEntries(new FormData(form));
    body.token = token;
    const response = await fetch('/api/v1/auth/setup', {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), credentials: 'same-origin',
    });
    const result = await response.json();
    if (response.ok) {
      document.querySelector('main').innerHTML = '<h1 class="done">You are the owner.</h1><p>Signed in as ' +
        result.user.email.replace(/[<>&]/g, '') + '. The API is documented at <a href="/api/docs">/api/docs</a>.</p>';
    } else {
      const details = (result.error.details || []).map((d) => d.path + ': ' + d.message).join('\\n');
      document.getElementById('error').textContent = result.error.message + (details ? '\\n' + details : '');
    }
  });
</script>
</body>
</html>`;

export const HOME_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Parley</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;line-height:1.5}</style></head>
<body><h1>Parley is running</h1>
<p>The REST API lives under <code>/api/v1</code> and is documented at <a href="/api/docs">/api/docs</a>
(<a href="/api/openapi.json">OpenAPI 3.1</a>).</p>
<p>Health: <a href="/healthz">/healthz</a> · Readiness: <a href="/readyz">/readyz</a> · Metrics: <a href="/metrics">/metrics</a></p>
</body></html>`;
