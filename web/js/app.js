/* global document, window, location, localStorage */
/**
 * The page: header (target server, function key), a status bar that screen readers hear, and
 * three views chosen by the URL hash so each can be bookmarked and the back button works:
 *   #/servers/{server}                     the migrations grid
 *   #/servers/{server}/create              the create wizard
 *   #/servers/{server}/migrations/{name}   one migration's details
 */
import { KEY_REFUSED, functionKey, setFunctionKey } from './api.js';
import { announce, byId, fill, h, statusForNewView } from './dom.js';
import { renderDetails } from './details.js';
import { renderGrid } from './grid.js';
import { renderWizard } from './wizard.js';

const SERVER_KEY = 'pgferry.server';
const SERVER_PATTERN = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;

let view = { dispose: () => undefined };
let firstRender = true;

const enc = encodeURIComponent;
export const routes = {
  grid: (server) => `#/servers/${enc(server)}`,
  create: (server) => `#/servers/${enc(server)}/create`,
  details: (server, name) => `#/servers/${enc(server)}/migrations/${enc(name)}`,
};

function rememberedServer() {
  try {
    return localStorage.getItem(SERVER_KEY) ?? '';
  } catch {
    return '';
  }
}

function rememberServer(server) {
  try {
    localStorage.setItem(SERVER_KEY, server);
  } catch {
    // Without storage the server lives in the URL only.
  }
  const input = byId('server');
  if (input.value !== server) input.value = server;
}

function parseHash() {
  const parts = location.hash.replace(/^#\/?/, '').split('/').map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  if (parts[0] !== 'servers' || !parts[1]) return { view: 'home' };
  const server = parts[1];
  if (parts[2] === 'create') return { view: 'create', server };
  if (parts[2] === 'migrations' && parts[3]) return { view: 'details', server, name: parts[3] };
  return { view: 'grid', server };
}

function render() {
  if (location.hash !== '' && !location.hash.startsWith('#/')) return;
  const route = parseHash();
  const main = byId('main');
  statusForNewView();
  view.dispose();
  view = { dispose: () => undefined };
  document.title = 'pgferry';
  if (route.view === 'home') {
    const remembered = rememberedServer();
    if (remembered) {
      location.replace(routes.grid(remembered));
      return;
    }
    fill(
      main,
      h('h2', { id: 'view-title', tabindex: '-1' }, 'Choose a target server'),
      h('p', { class: 'lead' }, 'Enter the name of the Azure Database for PostgreSQL flexible server that receives the databases in “Target server” above, then select Open. Migrations are listed per target server.'),
    );
  } else {
    rememberServer(route.server);
    if (route.view === 'grid') {
      document.title = `Migrations · ${route.server} · pgferry`;
      view = renderGrid(main, { server: route.server, detailsHref: (name) => routes.details(route.server, name), onCreate: () => { location.hash = routes.create(route.server); } });
    } else if (route.view === 'create') {
      document.title = `Create migration · ${route.server} · pgferry`;
      renderWizard(main, {
        server: route.server,
        onCreated: (server) => { location.hash = routes.grid(server); },
        onCancel: () => { location.hash = routes.grid(route.server); },
      });
    } else {
      view = renderDetails(main, { server: route.server, name: route.name, gridHref: routes.grid(route.server) });
    }
  }
  // Moving focus to the new view's heading tells screen reader users the page changed.
  if (!firstRender) document.getElementById('view-title')?.focus();
  firstRender = false;
}

function setupHeader() {
  const form = byId('server-form');
  const server = byId('server');
  const error = byId('server-error');
  server.value = parseHash().server ?? rememberedServer();
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const value = server.value.trim();
    if (!SERVER_PATTERN.test(value)) {
      error.textContent = 'Use 3–63 lowercase letters, digits and hyphens, not starting or ending with a hyphen.';
      error.hidden = false;
      server.setAttribute('aria-invalid', 'true');
      server.focus();
      return;
    }
    error.hidden = true;
    server.removeAttribute('aria-invalid');
    const target = routes.grid(value);
    if (location.hash === target) render();
    else location.hash = target;
  });

  const key = byId('function-key');
  key.value = functionKey();
  window.addEventListener(KEY_REFUSED, () => {
    key.required = true;
    key.setAttribute('aria-invalid', 'true');
    byId('function-key-hint').textContent = key.value.trim()
      ? 'Required: this key was refused. Enter a valid function key of the service.'
      : 'Required: this service enforces function keys. Enter one; it is kept for this browser tab only.';
  });
  key.addEventListener('change', () => {
    setFunctionKey(key.value.trim());
    key.removeAttribute('aria-invalid');
    announce(key.value.trim() ? 'Function key saved for this browser tab.' : 'Function key cleared.', 'ok');
  });

  byId('skip-link').addEventListener('click', (e) => {
    e.preventDefault();
    byId('main').focus();
  });
}

setupHeader();
window.addEventListener('hashchange', render);
render();
