// Pages by path; links inside the app change the page without reloading it.

import { beginNavigation } from "./api.js";

const routes = [];
let notFound = null;
const shown = new Set();

// Called after each page is shown (the navigation marks the current page).
export function onShow(listener) {
  shown.add(listener);
}

export function route(pattern, view) {
  // "/jobs/:id" -> /^\/jobs\/([^/]+)$/
  const regex = new RegExp(`^${pattern.replace(/:[a-z]+/g, "([^/]+)")}$`);
  routes.push([regex, view]);
}

export function fallback(view) {
  notFound = view;
}

async function dispatch(pathname, params) {
  for (const [regex, view] of routes) {
    const match = pathname.match(regex);
    if (match) return view(params, ...match.slice(1).map(decodeURIComponent));
  }
  return notFound(params);
}

export async function show() {
  const { pathname, search } = window.location;
  beginNavigation();
  try {
    await dispatch(pathname, new URLSearchParams(search));
  } finally {
    for (const listener of shown) listener();
  }
}

export function navigate(path, { replace = false } = {}) {
  if (replace) window.history.replaceState({}, "", path);
  else window.history.pushState({}, "", path);
  window.scrollTo(0, 0);
  show().then(() => document.getElementById("main").focus({ preventScroll: true }));
}

export function start() {
  window.addEventListener("popstate", () => show());
  document.addEventListener("click", (event) => {
    const link = event.target instanceof Element ? event.target.closest("a") : null;
    if (!link || event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const url = new URL(link.href, window.location.href);
    const internal = url.origin === window.location.origin && !url.pathname.startsWith("/api/")
      && !url.pathname.startsWith("/docs")
      && !link.hasAttribute("download") && link.target !== "_blank";
    if (!internal) return;
    event.preventDefault();
    navigate(url.pathname + url.search);
  });
  return show();
}
