// The userplane console: reads the control plane with the admin token and polls it
// about once a second. No framework; the DOM is updated in place so that keyboard
// focus survives every refresh.

const POLL_MS = 1000;
const JOURNAL_KEEP = 200;
const REQUESTS_KEEP = 100;
const PAGE_SIZE = 50;
const TOKEN_KEY = "userplane.console.token";

const $ = (id) => document.getElementById(id);

const state = {
  token: null,
  tenants: [],
  tenant: null, // the selected tenant's account_id
  kinds: [], // its session kinds, as the users endpoint names them
  emails: new Map(), // user id -> email, to name journal targets
  page: { after: null, previous: [], next: null },
  journalAfter: 0,
  requestsAfter: 0,
  timer: null,
  generation: 0, // bumped on every tenant switch: answers for an older one are dropped
};

// ------------------------------------------------------------------ the control plane

async function api(method, path) {
  let response;
  try {
    response = await fetch(`/_userplane${path}`, {
      method,
      headers: { Authorization: `Bearer ${state.token}` },
      cache: "no-store",
      credentials: "omit",
    });
  } catch (err) {
    return { status: 0, data: null, message: "the server cannot be reached" };
  }
  let data = null;
  try {
    data = await response.json();
  } catch (err) {
    data = null;
  }
  const message = data && data.error ? data.error.message : `HTTP ${response.status}`;
  return { status: response.status, data, message };
}

const enc = encodeURIComponent;

// ------------------------------------------------------------------ small DOM helpers

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === "class") node.className = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function setText(node, text) {
  const value = String(text);
  if (node.textContent !== value) {
    node.textContent = value;
    return true;
  }
  return false;
}

function flash(node) {
  node.classList.remove("changed");
  void node.offsetWidth; // restart the animation
  node.classList.add("changed");
}

function clock(iso) {
  const match = /T(\d\d:\d\d:\d\d)/.exec(iso || "");
  return match ? match[1] : iso || "";
}

function announce(text, isError = false) {
  const node = $("announce");
  node.classList.toggle("error", isError);
  node.textContent = text;
}

// ------------------------------------------------------------------ signing in and out

function tokenFromFragment() {
  if (!location.hash.startsWith("#")) return null;
  const token = new URLSearchParams(location.hash.slice(1)).get("token");
  if (token !== null) {
    // Out of the address bar (and the history) at once.
    history.replaceState(null, "", location.pathname + location.search);
  }
  return token;
}

async function signIn(token) {
  state.token = token;
  const answer = await api("GET", "/tenants");
  if (answer.status !== 200) {
    state.token = null;
    showLogin(answer.status === 401 ? "That is not the admin token." : `Cannot sign in: ${answer.message}`);
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  $("login").hidden = true;
  $("app").hidden = false;
  $("sign-out").hidden = false;
  $("live").hidden = false;
  renderTenants(answer.data.tenants || []);
  if (state.tenants.length > 0) await selectTenant(state.tenants[0].account_id);
  schedule();
}

function showLogin(error = "") {
  stopPolling();
  $("app").hidden = true;
  $("sign-out").hidden = true;
  $("live").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = error;
  $("token").value = "";
  $("token").focus();
}

function signOut(error = "") {
  state.token = null;
  state.tenant = null;
  sessionStorage.removeItem(TOKEN_KEY);
  showLogin(error);
}

// ------------------------------------------------------------------ tenants

function renderTenants(tenants) {
  state.tenants = tenants;
  const list = $("tenants");
  list.replaceChildren(
    ...tenants.map((t) => {
      const button = el(
        "button",
        { type: "button", class: "tenant", "data-account": t.account_id },
        el("span", { class: "tenant-id" }, t.account_id),
        el("span", { class: "tenant-provider" }, t.provider),
      );
      button.addEventListener("click", () => selectTenant(t.account_id));
      return el("li", {}, button);
    }),
  );
  if (tenants.length === 0) list.append(el("li", { class: "muted" }, "No tenants."));
  markSelectedTenant();
}

function markSelectedTenant() {
  for (const button of $("tenants").querySelectorAll("button")) {
    if (button.dataset.account === state.tenant) button.setAttribute("aria-current", "true");
    else button.removeAttribute("aria-current");
  }
}

async function selectTenant(account) {
  const tenant = state.tenants.find((t) => t.account_id === account);
  if (!tenant) return;
  state.generation += 1;
  state.tenant = account;
  state.kinds = tenant.provider === "cloudflare" ? ["access", "warp"] : ["sso", "user_oauth", "zak"];
  state.page = { after: null, previous: [], next: null };
  state.journalAfter = 0;
  state.requestsAfter = 0;
  state.emails.clear();
  $("tenant-label").textContent = `of ${account} (${tenant.provider})`;
  $("users-body").replaceChildren();
  // Quiet while the journal of the new tenant is first filled; polite for what follows.
  $("journal").replaceChildren();
  $("journal").setAttribute("aria-live", "off");
  $("requests").replaceChildren();
  renderUsersHead();
  markSelectedTenant();
  await refresh();
}

// ------------------------------------------------------------------ users

const ACTIONS = {
  revoke: { label: "Revoke", done: "Revoked every session of" },
  deactivate: { label: "Deactivate", done: "Deactivated" },
  activate: { label: "Activate", done: "Activated" },
};

function renderUsersHead() {
  const span = (n) => ({ scope: "col", rowspan: String(n) });
  $("users-head").replaceChildren(
    el(
      "tr",
      {},
      el("th", span(2), "User"),
      el("th", span(2), "Role"),
      el("th", span(2), "Status"),
      el("th", { scope: "colgroup", colspan: String(state.kinds.length), class: "group" }, "Live sessions"),
      el("th", { ...span(2), class: "n" }, "Devices"),
      el("th", span(2), el("span", { class: "visually-hidden" }, "Actions")),
    ),
    el("tr", {}, ...state.kinds.map((k) => el("th", { scope: "col", class: "n" }, k))),
  );
}

function makeUserRow(user) {
  const row = el("tr", { "data-id": user.id, "data-email": user.email });
  row.append(
    el("th", { scope: "row", class: "who", "data-label": "User" }, el("span", { class: "email" }), el("span", { class: "name" })),
    el("td", { class: "role", "data-label": "Role" }),
    el("td", { "data-label": "Status" }, el("span", { class: "badge status" })),
  );
  for (const kind of state.kinds) {
    row.append(el("td", { class: "n count", "data-kind": kind, "data-label": kind }));
  }
  row.append(el("td", { class: "n devices", "data-label": "Devices" }));
  const revoke = el("button", { type: "button", class: "revoke" }, ACTIONS.revoke.label);
  const toggle = el("button", { type: "button", class: "toggle" });
  revoke.addEventListener("click", () => act(row, "revoke", revoke));
  toggle.addEventListener("click", () => act(row, row.dataset.status === "active" ? "deactivate" : "activate", toggle));
  row.append(el("td", { class: "actions", "data-label": "Actions" }, revoke, toggle));
  return row;
}

function updateUserRow(row, user, fresh) {
  row.dataset.status = user.status;
  setText(row.querySelector(".email"), user.email);
  setText(row.querySelector(".name"), user.name || "");
  setText(row.querySelector(".role"), user.role || "");
  const badge = row.querySelector(".status");
  if (setText(badge, user.status) && !fresh) flash(badge);
  badge.className = `badge status ${user.status}`;
  for (const cell of row.querySelectorAll(".count")) {
    const n = (user.sessions || {})[cell.dataset.kind] ?? 0;
    if (setText(cell, n) && !fresh) flash(cell);
    cell.classList.toggle("zero", n === 0);
  }
  const devices = row.querySelector(".devices");
  if (setText(devices, user.devices) && !fresh) flash(devices);
  const revoke = row.querySelector(".revoke");
  revoke.setAttribute("aria-label", `Revoke every session of ${user.email}`);
  const toggle = row.querySelector(".toggle");
  const action = user.status === "active" ? "deactivate" : "activate";
  setText(toggle, ACTIONS[action].label);
  toggle.setAttribute("aria-label", `${ACTIONS[action].label} ${user.email}`);
  toggle.classList.toggle("danger", action === "deactivate");
  // A pending user has not accepted the invitation: neither action applies.
  const pending = user.status === "pending";
  toggle.setAttribute("aria-disabled", String(pending));
  if (pending) toggle.title = "A pending user cannot be activated or deactivated";
  else toggle.removeAttribute("title");
}

function renderUsers(users) {
  const body = $("users-body");
  const focused = document.activeElement;
  // Shown in email order within the page, so a status change never moves a row.
  const sorted = [...users].sort((a, b) => (a.email < b.email ? -1 : a.email > b.email ? 1 : 0));
  const keep = new Set();
  let previous = null;
  for (const user of sorted) {
    state.emails.set(user.id, user.email);
    let row = body.querySelector(`tr[data-id="${CSS.escape(user.id)}"]`);
    const fresh = !row;
    if (fresh) row = makeUserRow(user);
    const at = previous ? previous.nextElementSibling : body.firstElementChild;
    if (row !== at) body.insertBefore(row, at);
    updateUserRow(row, user, fresh);
    keep.add(user.id);
    previous = row;
  }
  for (const row of [...body.rows]) if (!keep.has(row.dataset.id)) row.remove();
  if (focused && focused.isConnected && document.activeElement !== focused) focused.focus({ preventScroll: true });
  $("users-empty").hidden = users.length > 0;
}

async function act(row, action, button) {
  if (button.getAttribute("aria-disabled") === "true" || button.getAttribute("aria-busy") === "true") return;
  const email = row.dataset.email;
  button.setAttribute("aria-busy", "true");
  const answer = await api("POST", `/tenants/${enc(state.tenant)}/users/${enc(row.dataset.id)}/${action}`);
  button.removeAttribute("aria-busy");
  if (answer.status === 401) return signOut("The admin token is no longer accepted.");
  if (answer.status !== 200) {
    announce(`${ACTIONS[action].label} ${email} failed: ${answer.message}`, true);
    return;
  }
  const user = answer.data.user;
  updateUserRow(row, user, false);
  const live = Object.values(user.sessions || {}).reduce((a, b) => a + b, 0);
  const what = answer.data.changed ? ACTIONS[action].done : "No change for";
  announce(`${what} ${email}: ${user.status}, ${live} live session${live === 1 ? "" : "s"}.`);
  await refresh();
}

async function loadUsers(generation) {
  const after = state.page.after ? `&after=${enc(state.page.after)}` : "";
  const answer = await api("GET", `/tenants/${enc(state.tenant)}/users?limit=${PAGE_SIZE}${after}`);
  if (generation !== state.generation) return;
  if (answer.status !== 200) throw answer;
  renderUsers(answer.data.users || []);
  state.page.next = answer.data.next_after;
  $("next-page").hidden = !state.page.next;
  $("prev-page").hidden = state.page.previous.length === 0;
}

function turnPage(forward) {
  if (forward && state.page.next) {
    state.page.previous.push(state.page.after);
    state.page.after = state.page.next;
  } else if (!forward && state.page.previous.length > 0) {
    state.page.after = state.page.previous.pop();
  } else {
    return;
  }
  $("users-body").replaceChildren();
  refresh();
}

// ------------------------------------------------------------------ the audit journal

async function loadJournal(generation) {
  const fetched = [];
  // Catch up in pages (bounded per refresh), then keep only the newest entries.
  for (let page = 0; page < 20; page += 1) {
    const answer = await api("GET", `/tenants/${enc(state.tenant)}/journal?after=${state.journalAfter}&limit=1000`);
    if (generation !== state.generation) return;
    if (answer.status !== 200) throw answer;
    const entries = answer.data.entries || [];
    fetched.push(...entries);
    if (entries.length > 0) state.journalAfter = entries[entries.length - 1].seq;
    if (entries.length < 1000) break;
  }
  const list = $("journal");
  for (const entry of fetched.slice(-JOURNAL_KEEP)) list.prepend(journalItem(entry));
  while (list.children.length > JOURNAL_KEEP) list.lastElementChild.remove();
  $("journal-empty").hidden = list.children.length > 0;
  list.setAttribute("aria-live", "polite");
}

function journalItem(entry) {
  const target = state.emails.get(entry.target) || entry.target;
  const detail = entry.detail && Object.keys(entry.detail).length > 0 ? JSON.stringify(entry.detail) : "";
  return el(
    "li",
    { "data-seq": String(entry.seq), "data-action": entry.action },
    el("time", { datetime: entry.at, title: entry.at }, clock(entry.at)),
    el("code", { class: "action" }, entry.action),
    el("span", { class: "target" }, target),
    el("span", { class: "actor" }, `by ${entry.actor}`),
    el("span", { class: "detail" }, detail),
  );
}

// ------------------------------------------------------------------ request journal and faults (when the server has them)

// A server without these endpoints answers 404: the panel stays hidden, and the endpoint
// is asked again only every ABSENT_RECHECK_MS.
const ABSENT_RECHECK_MS = 10_000;
const absentSince = { requests: 0, faults: 0 };

// The data of a panel's endpoint, or null when the server has none (or the tenant changed).
async function optional(name, path, generation) {
  if (Date.now() - absentSince[name] < ABSENT_RECHECK_MS) return null;
  const answer = await api("GET", `/tenants/${enc(state.tenant)}${path}`);
  if (generation !== state.generation) return null;
  const panel = $(`${name}-panel`);
  if (answer.status === 404) {
    panel.hidden = true;
    absentSince[name] = Date.now();
    return null;
  }
  if (answer.status !== 200) throw answer;
  panel.hidden = false;
  absentSince[name] = 0;
  return answer.data;
}

async function loadRequests(generation) {
  const body = $("requests");
  // Catch up in pages (bounded per refresh), like the journal.
  for (let page = 0; page < 10; page += 1) {
    const data = await optional("requests", `/requests?after=${state.requestsAfter}&limit=${REQUESTS_KEEP}`, generation);
    const requests = (data && data.requests) || [];
    if (requests.length > 0) state.requestsAfter = data.next_after ?? requests[requests.length - 1].seq;
    for (const r of requests) body.prepend(requestRow(r));
    if (requests.length < REQUESTS_KEEP) break;
  }
  while (body.children.length > REQUESTS_KEEP) body.lastElementChild.remove();
}

function requestRow(r) {
  const path = r.query ? `${r.path}?${r.query}` : r.path;
  const status = el("span", { class: `badge code c${String(r.status)[0]}` }, String(r.status));
  const fault = r.fault ? el("span", { class: "sub" }, `fault: ${r.fault.effect}`) : "";
  return el(
    "tr",
    { "data-seq": String(r.seq) },
    el("td", { "data-label": "Time" }, el("time", { datetime: r.at, title: r.at }, clock(r.at))),
    el(
      "td",
      { "data-label": "Request", class: "request" },
      el("span", { class: "path" }, `${r.method} ${path}`),
      el("span", { class: "sub" }, r.operation || "no operation"),
    ),
    el("td", { "data-label": "Status" }, status, fault),
    el("td", { "data-label": "ms", class: "n" }, r.duration_ms == null ? "" : Number(r.duration_ms).toFixed(1)),
  );
}

async function loadFaults(generation) {
  const data = await optional("faults", "/faults", generation);
  if (!data) return;
  const rules = data.rules || [];
  const limits = (r) =>
    [
      r.probability != null ? `p=${r.probability}` : "",
      r.times != null ? `${r.times}×` : "",
      r.after ? `after ${r.after}` : "",
      r.expires_at ? `until ${clock(r.expires_at)}` : "",
    ]
      .filter(Boolean)
      .join(", ") || "always";
  $("faults").replaceChildren(
    ...rules.map((r) =>
      el(
        "tr",
        {},
        el("td", { "data-label": "Rule" }, el("code", {}, r.id)),
        el("td", { "data-label": "Match" }, el("code", {}, JSON.stringify(r.match))),
        el("td", { "data-label": "Effect" }, el("code", {}, JSON.stringify(r.effect))),
        el("td", { "data-label": "Fired", class: "n" }, String(r.fired ?? 0)),
        el("td", { "data-label": "Limits" }, limits(r)),
      ),
    ),
  );
  $("faults-empty").hidden = rules.length > 0;
}

// ------------------------------------------------------------------ polling

let refreshing = null;

async function refresh() {
  if (!state.token || !state.tenant) return;
  if (refreshing) return refreshing;
  const generation = state.generation;
  refreshing = (async () => {
    try {
      // Users first: the journal names its targets by the emails they bring.
      await loadUsers(generation);
      await Promise.all([loadJournal(generation), loadRequests(generation), loadFaults(generation)]);
      $("live").textContent = `Live · updated ${new Date().toISOString().slice(11, 19)} UTC`;
      $("live").classList.remove("stale");
    } catch (answer) {
      if (answer && answer.status === 401) {
        signOut("The admin token is no longer accepted.");
        return;
      }
      $("live").textContent = `Not updating: ${answer && answer.message ? answer.message : answer}`;
      $("live").classList.add("stale");
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

function schedule() {
  stopPolling();
  const tick = async () => {
    if (!document.hidden) await refresh();
    if (state.token) state.timer = setTimeout(tick, POLL_MS);
  };
  state.timer = setTimeout(tick, POLL_MS);
}

function stopPolling() {
  if (state.timer) clearTimeout(state.timer);
  state.timer = null;
}

// ------------------------------------------------------------------ start

$("login-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const token = $("token").value.trim();
  if (token) signIn(token);
});
$("sign-out").addEventListener("click", () => signOut());
$("reload-tenants").addEventListener("click", async () => {
  const answer = await api("GET", "/tenants");
  if (answer.status === 200) renderTenants(answer.data.tenants || []);
});
$("next-page").addEventListener("click", () => turnPage(true));
$("prev-page").addEventListener("click", () => turnPage(false));

const initial = tokenFromFragment() || sessionStorage.getItem(TOKEN_KEY);
if (initial) signIn(initial);
else showLogin();
