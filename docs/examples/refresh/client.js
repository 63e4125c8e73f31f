// Refresh from the browser: the refresh cookie goes along by itself (HttpOnly),
// the CSRF value is read from its cookie and sent back in a header.
function cookie(name) {
  const match = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
  return match ? decodeURIComponent(match[1]) : null;
}

async function refresh() {
  const response = await fetch("/auth/refresh", {
    method: "POST",
    credentials: "same-origin",
    headers: { "X-CSRF-Token": cookie("csrf_refresh_token") },
  });
  if (!response.ok) throw new Error("log in again");
  return (await response.json()).access_token;
}
