// The demo page: log in, call the API, refresh the access token silently, log out.
// The access token lives in this closure only (never in localStorage): a script
// injected into the page cannot find it later, and a reload restores the session
// from the HTTP-only refresh cookie instead.
"use strict";

(() => {
  const session = { token: null, expiresAt: 0, refreshes: 0, refreshing: null, timer: null };
  const $ = (id) => document.getElementById(id);

  function readCookie(name) {
    for (const part of document.cookie.split(";")) {
      const [key, ...rest] = part.trim().split("=");
      if (key === name) return decodeURIComponent(rest.join("="));
    }
    return null;
  }

  function csrfHeaders() {
    const csrf = readCookie("csrf_refresh_token");
    return csrf ? { "X-CSRF-Token": csrf } : {};
  }

  function log(method, path, status, detail) {
    const item = document.createElement("li");
    item.dataset.method = method;
    item.dataset.path = path;
    item.dataset.status = String(status);
    const call = document.createElement("code");
    call.textContent = `${method} ${path}`;
    const code = document.createElement("span");
    code.className = `status s${status === 401 ? 401 : String(status).charAt(0)}`;
    code.textContent = String(status);
    const text = document.createElement("span");
    text.className = "detail";
    text.textContent = detail || "";
    item.append(call, code, text);
    $("log").prepend(item);
  }

  async function describe(response) {
    const type = response.headers.get("content-type") || "";
    if (!type.includes("json")) return response.statusText;
    const body = await response.json();
    if (body && typeof body === "object" && "detail" in body) {
      return typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail);
    }
    return JSON.stringify(body);
  }

  function decodeClaims(token) {
    try {
      const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      return JSON.parse(atob(payload));
    } catch {
      return null;
    }
  }

  // -- the access token ------------------------------------------------------------

  function useToken(body) {
    session.token = body.access_token;
    session.expiresAt = Date.now() + body.expires_in * 1000;
    const claims = decodeClaims(body.access_token);
    $("claims").textContent = JSON.stringify(claims, null, 2);
    clearTimeout(session.timer);
    // Refresh silently when the token expires (a call made meanwhile refreshes on its 401).
    session.timer = setTimeout(() => refresh(), Math.max(0, session.expiresAt - Date.now()));
    tick();
  }

  function tick() {
    if (!session.token) return;
    const left = Math.ceil((session.expiresAt - Date.now()) / 1000);
    const state = $("token-state");
    if (session.refreshing) {
      state.className = "badge refreshing";
      state.textContent = "refreshing";
      $("countdown").textContent = "";
    } else if (left > 0) {
      state.className = "badge valid";
      state.textContent = "valid";
      const clock = left >= 60 ? `${Math.floor(left / 60)} min ${String(left % 60).padStart(2, "0")} s` : `${left} s`;
      $("countdown").textContent = `expires in ${clock}`;
    } else {
      state.className = "badge expired";
      state.textContent = "expired";
      $("countdown").textContent = "";
    }
    $("refresh-count").textContent = String(session.refreshes);
  }

  function refresh() {
    // One refresh at a time: the refresh token rotates, so a second concurrent
    // refresh with the old cookie would be taken for a replay.
    if (!session.refreshing) {
      session.refreshing = (async () => {
        tick();
        const response = await fetch("/auth/refresh", {
          method: "POST",
          headers: csrfHeaders(),
          credentials: "same-origin",
        });
        if (!response.ok) {
          log("POST", "/auth/refresh", response.status, await describe(response));
          signedOut("Your session has ended: log in again.");
          return false;
        }
        log("POST", "/auth/refresh", response.status, "new access token (silent refresh)");
        session.refreshes += 1;
        useToken(await response.json());
        return true;
      })().finally(() => {
        session.refreshing = null;
        tick();
      });
    }
    return session.refreshing;
  }

  async function api(method, path, body) {
    const send = () =>
      fetch(path, {
        method,
        headers: {
          Authorization: `Bearer ${session.token}`,
          ...(body ? { "Content-Type": "application/json" } : {}),
        },
        body: body ? JSON.stringify(body) : undefined,
        credentials: "same-origin",
      });
    if (session.refreshing) await session.refreshing;
    let response = await send();
    const challenge = response.headers.get("WWW-Authenticate") || "";
    if (response.status === 401 && challenge.includes("invalid_token")) {
      log(method, path, response.status, `${await describe(response)} Refreshing and retrying.`);
      if (!(await refresh())) return null;
      response = await send();
    }
    log(method, path, response.status, await describe(response.clone()));
    return response;
  }

  // -- signing in and out ----------------------------------------------------------

  async function showProfile() {
    const response = await api("GET", "/me");
    if (!response || !response.ok) return;
    const me = await response.json();
    $("who").textContent = me.sub;
    $("admin-badge").hidden = !me.admin;
    const perms = $("permissions");
    perms.replaceChildren(
      ...me.permissions.map((p) => {
        const chip = document.createElement("span");
        chip.className = "chip";
        chip.textContent = p;
        return chip;
      }),
    );
    $("login-view").hidden = true;
    $("session-view").hidden = false;
  }

  async function login(username, password) {
    $("login-error").hidden = true;
    const response = await fetch("/auth/login", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username, password }),
      credentials: "same-origin",
    });
    if (!response.ok) {
      const detail = await describe(response);
      log("POST", "/auth/login", response.status, detail);
      $("login-error").textContent = detail;
      $("login-error").hidden = false;
      return;
    }
    log("POST", "/auth/login", response.status, `logged in as ${username}`);
    session.refreshes = 0;
    useToken(await response.json());
    await showProfile();
  }

  function signedOut(message) {
    clearTimeout(session.timer);
    session.token = null;
    session.expiresAt = 0;
    $("session-view").hidden = true;
    $("login-view").hidden = false;
    $("claims").textContent = "";
    if (message) {
      $("login-error").textContent = message;
      $("login-error").hidden = false;
    }
  }

  async function logout() {
    const response = await fetch("/auth/logout", {
      method: "POST",
      headers: { ...csrfHeaders(), ...(session.token ? { Authorization: `Bearer ${session.token}` } : {}) },
      credentials: "same-origin",
    });
    log("POST", "/auth/logout", response.status, response.ok ? "logged out" : await describe(response));
    signedOut(null);
  }

  // -- wiring ------------------------------------------------------------------------

  document.querySelectorAll("button.user").forEach((button) => {
    button.addEventListener("click", () => {
      $("username").value = button.dataset.user;
      $("password").value = button.dataset.password;
      login(button.dataset.user, button.dataset.password);
    });
  });
  $("login-form").addEventListener("submit", (event) => {
    event.preventDefault();
    login($("username").value, $("password").value);
  });
  document.querySelectorAll("button.call").forEach((button) => {
    button.addEventListener("click", () => {
      const body = button.dataset.method === "POST" ? { item: "tea", quantity: 1 } : undefined;
      api(button.dataset.method, button.dataset.path, body);
    });
  });
  $("logout-button").addEventListener("click", logout);
  $("clear-log").addEventListener("click", () => $("log").replaceChildren());
  setInterval(tick, 250);

  // A reload loses the in-memory access token; the refresh cookie brings the session back.
  if (readCookie("csrf_refresh_token")) {
    refresh().then((ok) => ok && showProfile());
  }
  document.body.dataset.ready = "true";
})();
