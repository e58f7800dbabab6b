// The home page (search) and a job's page.

import { ApiError, allPages, currentUser, get, options, post, remove, request } from "../api.js";
import { action, ago, choices, describe, field, flash, form, h, input, markup, render, salary, select, title, when, words } from "../ui.js";
import { navigate } from "../router.js";
import { uploadResume } from "./candidate.js";
import { questionFields } from "./pipeline.js";

const SORTS = [["", "Best match"], ["newest", "Newest"], ["salary", "Highest salary"]];
const SEARCH_KEYS = ["q", "location", "workplace", "employment_type", "tag", "salary_min", "posted_after", "sort"];

// A company as GET /companies/{id} answers (null if that fails).
function companyRecord(id) {
  return get(`/companies/${id}`).then((company) => company, () => null);
}

// The search as GET /jobs takes it, from the page's address.
export function searchFromUrl(params) {
  const search = {};
  for (const key of SEARCH_KEYS) {
    const values = params.getAll(key).filter(Boolean);
    if (!values.length) continue;
    search[key] = key === "tag" ? values : values[0];
  }
  return search;
}

function searchFromForm(data) {
  const search = {};
  for (const key of SEARCH_KEYS) {
    const value = String(data.get(key) || "").trim();
    if (!value) continue;
    if (key === "tag") {
      search.tag = value.split(",").map((tag) => tag.trim().toLowerCase()).filter(Boolean);
    } else if (key === "posted_after") {
      search.posted_after = `${value}T00:00:00Z`;
    } else {
      search[key] = value;
    }
  }
  return search;
}

function queryString(search) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(search)) {
    for (const item of Array.isArray(value) ? value : [value]) query.append(key, item);
  }
  return query.toString();
}

// The badge of a company that proved a mailbox at its website's domain.
export function verifiedBadge(verified) {
  return verified ? h("span", { class: "badge verified", title: "The company proved a mailbox at its website's domain" }, "Verified") : null;
}

export function jobCard(job) {
  const company = h("span", { class: "company" }, job.company_name, verifiedBadge(job.company_verified));
  const pay = salary(job);
  return h(
    "li",
    { class: "card job", "data-job": String(job.id) },
    h("h2", {}, h("a", { href: `/jobs/${job.id}` }, job.title)),
    h("p", { class: "meta" }, company, " · ", job.location, " · ", words(job.workplace), " · ", words(job.employment_type)),
    pay ? h("p", { class: "salary" }, pay) : null,
    job.tags.length ? h("ul", { class: "tags", "aria-label": "Tags" }, job.tags.map((tag) => h("li", {}, tag))) : null,
    h("p", { class: "when" }, `Published ${when(job.published_at)} · confirmed open ${ago(job.confirmed_open_at)}`),
  );
}

// Marks the cards of a list with what the signed-in user did with each job (saved it,
// applied to it): the lists are the same for everyone, the markers are asked for apart.
export async function markCards(cards) {
  if (!currentUser() || !cards.length) return;
  const byId = new Map(cards.map((card) => [card.dataset.job, card]));
  let found;
  try {
    found = await get("/users/me/job-markers", { job_id: [...byId.keys()] });
  } catch {
    return;
  }
  for (const marker of found.items) {
    const card = byId.get(String(marker.job_id));
    if (!card || card.querySelector(".markers")) continue;
    const badges = [];
    if (marker.applied_at) badges.push(h("span", { class: "badge applied" }, `Applied ${when(marker.applied_at)}`));
    if (marker.saved_at) badges.push(h("span", { class: "badge saved" }, "Saved"));
    card.append(h("p", { class: "markers" }, ...badges));
  }
}

// A button that saves a job for later, or takes it back off the saved jobs.
export function saveButton(jobId, saved) {
  const button = h("button", { type: "button", class: "secondary", "aria-pressed": String(saved) });
  const show = (isSaved) => {
    button.setAttribute("aria-pressed", String(isSaved));
    button.textContent = isSaved ? "Saved ✓ (remove)" : "Save this job";
  };
  show(saved);
  button.addEventListener("click", async () => {
    button.disabled = true;
    const wasSaved = button.getAttribute("aria-pressed") === "true";
    try {
      if (wasSaved) {
        await remove(`/users/me/saved-jobs/${jobId}`);
        flash("Removed from your saved jobs.");
      } else {
        await request("PUT", `/users/me/saved-jobs/${jobId}`);
        flash("Saved: find it under Saved jobs.");
      }
      show(!wasSaved);
    } catch (error) {
      flash(describe(error));
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

function autocomplete(box, list) {
  let timer;
  box.addEventListener("input", () => {
    clearTimeout(timer);
    const typed = box.value.trim();
    if (!typed) {
      list.replaceChildren();
      return;
    }
    timer = setTimeout(async () => {
      try {
        const titles = await get("/jobs/autocomplete", { q: typed.slice(0, 100) });
        list.replaceChildren(...titles.map((text) => h("option", { value: text })));
      } catch {
        list.replaceChildren();
      }
    }, 150);
  });
}

// Where a search's list was left (pages loaded, scroll position), kept for the tab's
// session so that going back to it, by the back button or "← All jobs", finds the place.
const WIDE = "(min-width: 40rem)";

function placeKey(address) {
  return `place:${address}`;
}

function keptPlace(address) {
  try {
    const kept = JSON.parse(sessionStorage.getItem(placeKey(address)) || "null");
    return kept && Number.isInteger(kept.pages) && kept.pages > 0 ? kept : null;
  } catch {
    return null;
  }
}

function keepPlace(address, place) {
  const kept = keptPlace(address) || {};
  sessionStorage.setItem(placeKey(address), JSON.stringify({ ...kept, ...place }));
}

export async function home(params) {
  title("");
  const address = window.location.pathname + window.location.search;
  sessionStorage.setItem("lastSearch", address);
  const place = keptPlace(address);
  const search = searchFromUrl(params);
  const offered = await options();
  const suggestions = h("datalist", { id: "title-suggestions" });
  const q = input("q", { type: "search", list: "title-suggestions", autocomplete: "off", placeholder: "Title, skill or company", value: search.q });
  autocomplete(q, suggestions);
  const filtered = SEARCH_KEYS.filter((key) => key !== "q" && key !== "sort" && search[key] !== undefined).length;
  const filters = h(
    "details",
    { class: "filters" },
    h("summary", {}, filtered ? `Filters (${filtered})` : "Filters"),
    h("div", { class: "filter-grid" }, [
    field("Where", input("location", { value: search.location, placeholder: "City or country" })),
    field("Workplace", select("workplace", choices(offered.workplaces, "Any workplace"))),
    field("Type", select("employment_type", choices(offered.employment_types, "Any type"))),
    field("Tags", input("tag", { value: (search.tag || []).join(", "), placeholder: "python, django" }), "Comma-separated; every tag must match"),
    field("Minimum salary", input("salary_min", { type: "number", min: 0, step: 1000, value: search.salary_min })),
    field("Posted after", input("posted_after", { type: "date", value: search.posted_after ? search.posted_after.slice(0, 10) : undefined })),
    field("Sort by", select("sort", SORTS)),
    ]),
  );
  // On a phone the filters fold away behind their summary, and the results come first.
  filters.open = window.matchMedia(WIDE).matches;
  const controls = [field("What", q), suggestions, filters];
  const results = h("ol", { class: "results", "aria-label": "Jobs" });
  const status = h("p", { class: "status", role: "status" });
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "Load more");
  let cursor = null;
  let pages = 0;

  async function load(append) {
    more.disabled = true;
    status.textContent = append ? "Loading more…" : "Searching…";
    try {
      const page = await get("/jobs", { ...search, limit: 20, cursor: append ? cursor : undefined });
      if (!append) results.replaceChildren();
      const cards = page.items.map(jobCard);
      results.append(...cards);
      markCards(cards);
      cursor = page.next_cursor;
      pages = append ? pages + 1 : 1;
      if (window.location.pathname + window.location.search === address) keepPlace(address, { pages });
      more.hidden = !cursor;
      const shown = results.children.length;
      status.textContent = shown ? `${shown} job${shown === 1 ? "" : "s"} shown${cursor ? "" : ", that is all"}.` : "No jobs match this search.";
      return true;
    } catch (error) {
      status.textContent = describe(error);
      return false;
    } finally {
      more.disabled = false;
    }
  }
  more.addEventListener("click", () => load(true));
  // Leaving for a job keeps where the list was scrolled to (from the list's top: the form
  // above it may be folded otherwise when coming back).
  results.addEventListener("click", (event) => {
    if (event.target instanceof Element && event.target.closest("a")) keepPlace(address, { scroll: -results.getBoundingClientRect().top });
  });

  const searchForm = form(
    { role: "search", class: "search", "aria-label": "Search jobs" },
    controls,
    async (data) => {
      const next = searchFromForm(data);
      const target = `/${queryString(next) ? `?${queryString(next)}` : ""}`;
      // A search asked for again starts from its first page, and shows its results.
      sessionStorage.removeItem(placeKey(target));
      sessionStorage.setItem("showResults", target);
      navigate(target);
    },
    "Search",
  );
  for (const name of ["workplace", "employment_type", "sort"]) {
    searchForm.elements.namedItem(name).value = search[name] || "";
  }

  const save = currentUser()
    ? action("Save this search", async () => {
        const name = search.q || search.location || "My search";
        await post("/users/me/saved-searches", { name: name.slice(0, 100), search });
        flash("Saved: you will get new jobs for it by mail every day.");
      }, { class: "secondary" })
    : null;

  render(
    h("section", { class: "hero" }, h("h1", {}, "Find your next job"), searchForm),
    h("section", { "aria-labelledby": "results-heading" },
      h("div", { class: "results-head" }, h("h2", { id: "results-heading" }, "Jobs"), save),
      status, results, more),
  );
  if (!(await load(false))) return;
  if (place) {
    while (pages < place.pages && cursor) {
      if (!(await load(true))) return;
    }
    if (typeof place.scroll === "number") window.scrollTo(0, window.scrollY + results.getBoundingClientRect().top + place.scroll);
  } else if (sessionStorage.getItem("showResults") === address) {
    if (!window.matchMedia(WIDE).matches) document.getElementById("results-heading")?.scrollIntoView();
  }
  sessionStorage.removeItem("showResults");
}

function structuredLocation(job) {
  return job.location;
}

export async function jobPage(id) {
  let job;
  try {
    job = await get(`/jobs/${id}`);
  } catch (error) {
    title("Job not found");
    render(h("h1", {}, "Job not found"), h("p", {}, error instanceof ApiError && error.status === 404 ? "This job is not open, or it never was." : describe(error)), h("p", {}, h("a", { href: "/" }, "Back to the jobs")));
    return;
  }
  title(job.title);
  const company = h("span", { class: "company" }, job.company_name, verifiedBadge(job.company_verified));
  // What the company says about itself, below the job, once it has come.
  const about = h("section", { class: "about", "aria-label": "About the company", hidden: true });
  // How the company answers applications, once it has enough of them to tell.
  const answers = h("p", { class: "meta", hidden: true });
  get(`/companies/${job.company_id}/responsiveness`).then((figures) => {
    if (figures.applications === null) return;
    const days = figures.median_hours_to_first_answer === null ? null : Math.max(1, Math.round(figures.median_hours_to_first_answer / 24));
    answers.textContent = `This employer answered ${Math.round(figures.answered_within_30_days * 100)}% of ${figures.applications} applications within 30 days`
      + (days === null ? "." : `, usually within ${days} day${days === 1 ? "" : "s"}.`);
    answers.hidden = false;
  }, () => {});
  companyRecord(job.company_id).then((record) => {
    if (record && record.description_html) {
      about.replaceChildren(h("h2", {}, `About ${record.name}`), h("div", { class: "description" }, markup(record.description_html)));
      about.hidden = false;
    }
  });
  // Open jobs like this one, once they have come.
  const similar = h("section", { class: "similar", "aria-labelledby": "similar-heading", hidden: true });
  if (job.status === "published") {
    get(`/jobs/${job.id}/similar`).then((found) => {
      if (!found.items.length) return;
      const cards = found.items.map(jobCard);
      similar.replaceChildren(h("h2", { id: "similar-heading" }, "Similar jobs"), h("ol", { class: "results", "aria-label": "Similar jobs" }, cards));
      similar.hidden = false;
      markCards(cards);
    }, () => {});
  }
  const pay = salary(job);
  const user = currentUser();
  let saveArea = null;
  if (user && job.status === "published") {
    const marked = await get("/users/me/job-markers", { job_id: [job.id] }).then((found) => found.items, () => []);
    saveArea = h("p", { class: "save" }, saveButton(job.id, marked.some((marker) => marker.saved_at)));
  }
  let applyArea;
  let applied;
  if (!user) {
    applyArea = h("p", {}, h("a", { href: `/signin?next=/jobs/${job.id}` }, "Sign in"), " or ", h("a", { href: "/signup" }, "create an account"), " to apply.");
  } else if (user.role === "candidate" && (applied = (await allPages("/users/me/applications")).find((mine) => mine.job_id === job.id))) {
    // Applied already: say so, rather than offer a form the API would refuse (409).
    applyArea = h("p", { class: "notice" }, `You applied on ${when(applied.created_at)}; your application is ${words(applied.status)}. Follow it under `, h("a", { href: "/applications" }, "My applications"), ".");
  } else if (user.role === "candidate" && job.status === "published") {
    const [resumes, asked] = await Promise.all([get("/users/me/resumes").then((page) => page.items), get(`/jobs/${job.id}/questions`).then((read) => read.questions)]);
    const screening = questionFields(asked);
    const choice = select("resume_id", [
      ...resumes.map((resume) => [String(resume.id), `${resume.file_name} (${when(resume.created_at)})`]),
      ["", "No résumé"],
    ]);
    applyArea = form(
      { class: "apply", "aria-label": "Apply" },
      [
        field("Résumé", choice, resumes.length ? "Sent with your application; manage them on your profile" : "You have none yet: upload one below or on your profile"),
        field("Or upload a new résumé", input("file", { type: "file", accept: ".pdf,.docx,.odt,.rtf,.txt" }), "PDF, Word (DOCX), OpenDocument (ODT), RTF or plain text, at most 5 MB"),
        field("Cover letter (optional)", h("textarea", { name: "cover_letter", rows: 6, maxlength: 10000 })),
        asked.length ? h("fieldset", {}, h("legend", {}, "The employer asks"), screening.fields) : null,
      ],
      async (data, node) => {
        const letter = String(data.get("cover_letter") || "").trim();
        const file = data.get("file");
        let resumeId = data.get("resume_id") ? Number(data.get("resume_id")) : null;
        if (file instanceof File && file.name) resumeId = (await uploadResume(file)).id;
        const body = {};
        if (letter) body.cover_letter = letter;
        if (resumeId) body.resume_id = resumeId;
        if (asked.length) body.answers = screening.answers(data);
        await post(`/jobs/${job.id}/applications`, body);
        node.replaceWith(h("p", { class: "success", role: "status" }, "Your application is in. Follow it under ", h("a", { href: "/applications" }, "My applications"), "."));
      },
      "Apply",
    );
  } else {
    applyArea = null;
  }
  // Anyone may report a public job but its owner (403); the owner never learns who did.
  const reportArea = job.status !== "published" ? null : h("details", { class: "report" },
    h("summary", {}, "Report this job"),
    form(
      { "aria-label": "Report this job" },
      [
        field("Why", select("reason", [
          ["scam", "It is a scam"], ["spam", "It is spam"], ["discriminatory", "It discriminates"],
          ["wrong_information", "Its information is wrong"], ["filled", "It is already filled or closed"],
        ])),
        field("What a moderator should know (optional)", h("textarea", { name: "note", rows: 3, maxlength: 1000 })),
      ],
      async (data, node) => {
        await post(`/jobs/${job.id}/reports`, { reason: String(data.get("reason")), note: String(data.get("note") || "") });
        node.replaceWith(h("p", { class: "success", role: "status" }, "Thank you: a moderator will look at it."));
      },
      "Send the report",
    ));
  render(
    h("article", { class: "job-page" },
      h("p", { class: "back" }, h("a", { href: sessionStorage.getItem("lastSearch") || "/" }, "← All jobs")),
      h("h1", {}, job.title),
      h("p", { class: "meta" }, company, " · ", structuredLocation(job), " · ", words(job.workplace), " · ", words(job.employment_type)),
      pay ? h("p", { class: "salary" }, pay) : null,
      answers,
      job.tags.length ? h("ul", { class: "tags", "aria-label": "Tags" }, job.tags.map((tag) => h("li", {}, tag))) : null,
      job.status !== "published" ? h("p", { class: "notice" }, `This job is ${job.status}.`) : null,
      saveArea,
      h("div", { class: "description" }, markup(job.description_html)),
      h("p", { class: "when" }, job.published_at ? `Published ${when(job.published_at)}` : "Not published", job.status === "published" && job.confirmed_open_at ? ` · confirmed open by the employer ${ago(job.confirmed_open_at)}` : ""),
      about,
      applyArea ? h("section", { "aria-labelledby": "apply-heading" }, h("h2", { id: "apply-heading" }, "Apply"), applyArea) : null,
      reportArea,
      similar,
    ),
  );
}

// The signed-in user's saved jobs, newest first, each with a button to take it off.
export async function savedJobsPage() {
  title("Saved jobs");
  if (!currentUser()) {
    navigate("/signin?next=/saved-jobs");
    return;
  }
  const list = h("ol", { class: "results", "aria-label": "Saved jobs" });
  const status = h("p", { class: "status", role: "status" });
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "Load more");
  let cursor = null;
  async function load(append) {
    more.disabled = true;
    try {
      const page = await get("/users/me/saved-jobs", { limit: 20, cursor: append ? cursor : undefined });
      const cards = page.items.map((saved) => {
        const card = jobCard(saved.job);
        card.append(h("p", { class: "when" }, `Saved ${when(saved.saved_at)}`), h("p", {}, saveButton(saved.job.id, true)));
        return card;
      });
      list.append(...cards);
      markCards(cards);
      cursor = page.next_cursor;
      more.hidden = !cursor;
      status.textContent = list.children.length ? "" : "No saved jobs yet: save one from its page to come back to it.";
    } catch (error) {
      status.textContent = describe(error);
    } finally {
      more.disabled = false;
    }
  }
  more.addEventListener("click", () => load(true));
  render(h("h1", {}, "Saved jobs"), status, list, more);
  await load(false);
}

// What the footer's feed link opens: the feed is for feed readers, this page for people.
export function feedsPage() {
  title("Feeds");
  const feed = `${window.location.origin}/api/v1/jobs/feed`;
  const example = `${feed}?q=python&workplace=remote`;
  render(
    h("h1", {}, "Feeds of new jobs"),
    h("p", {}, "Follow new jobs in a feed reader (Atom): add this address to it."),
    h("p", {}, h("code", { id: "feed-address" }, feed)),
    h(
      "p",
      {},
      "A feed of a search takes the same filters as the search on the jobs page, for instance ",
      h("code", {}, example),
      ".",
    ),
    h("p", {}, h("a", { href: feed, type: "application/atom+xml" }, "The feed itself"), " (for feed readers)."),
  );
}
