// Moderators (and admins): the jobs held for review, and a job's review with its poster,
// its record and every decision; approve, reject with reasons, or ask for changes.

import { currentUser, get, post, remove, request } from "../api.js";
import { action, describe, field, flash, form, h, input, markup, render, select, title, when, words } from "../ui.js";
import { navigate } from "../router.js";

const REASONS = ["spam", "scam", "misleading", "discriminatory", "incomplete", "duplicate", "not_a_job", "other"];
const DECISIONS = [["approved", "Approve: publish it"], ["rejected", "Reject it"], ["changes_requested", "Ask for changes"]];

function moderatorOnly(path) {
  const user = currentUser();
  if (!user) {
    navigate(`/signin?next=${path}`, { replace: true });
    return null;
  }
  if (user.role !== "moderator" && user.role !== "admin") {
    title("Moderation");
    render(h("h1", {}, "Moderation"), h("p", {}, "This page is for moderators."));
    return null;
  }
  return user;
}

function record(poster) {
  return `${poster.approved_jobs} approved, ${poster.rejected_jobs} rejected`;
}

function queuedRow(item) {
  return h("tr", {},
    h("td", {}, h("a", { href: `/moderation/jobs/${item.job.id}` }, item.job.title)),
    h("td", {}, item.company.name),
    h("td", {}, item.poster.email),
    h("td", {}, record(item.poster)),
    h("td", {}, item.signals.filter((signal) => signal.holds).map((signal) => signal.code.replaceAll("_", " ")).join(", ")),
    h("td", {}, String(item.open_reports)),
    h("td", {}, when(item.job.submitted_at)));
}

export async function moderationPage() {
  if (!moderatorOnly("/moderation")) return;
  title("Moderation");
  const body = h("tbody");
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "Load more");
  const problem = h("p", { class: "inline-error", role: "alert" });
  const empty = h("p", { hidden: true }, "Nothing is waiting for review.");
  let cursor;
  async function load(append) {
    problem.textContent = "";
    try {
      const page = await get("/moderation/jobs", { limit: 50, cursor: append ? cursor : undefined });
      if (!append) body.replaceChildren();
      body.append(...page.items.map(queuedRow));
      empty.hidden = body.children.length > 0;
      cursor = page.next_cursor;
      more.hidden = !cursor;
    } catch (error) {
      problem.textContent = `The queue could not be loaded: ${describe(error)}`;
    }
  }
  more.addEventListener("click", () => load(true));
  const [edits, banned] = await Promise.all([editsSection(), bannedSection()]);
  render(
    h("h1", {}, "Jobs waiting for review"),
    h("table", { class: "table" },
      h("thead", {}, h("tr", {},
        h("th", { scope: "col" }, "Job"), h("th", { scope: "col" }, "Company"), h("th", { scope: "col" }, "Poster"),
        h("th", { scope: "col" }, "Record"), h("th", { scope: "col" }, "Signals"), h("th", { scope: "col" }, "Reports"), h("th", { scope: "col" }, "Waiting since"))),
      body),
    empty,
    problem,
    more,
    edits,
    banned,
  );
  await load(false);
}

// Banned domains: a poster whose address, or whose company's website, is on one cannot
// publish. The first page of them, a form to ban one, and a button to lift each ban.
async function bannedSection() {
  const page = await get("/moderation/banned-domains", { limit: 100 });
  const list = h("ul", { class: "banned" });
  const empty = h("p", {}, "No domain is banned.");
  function add(ban) {
    empty.hidden = true;
    const item = h("li", {}, h("strong", {}, ban.domain), ban.reason ? ` · ${ban.reason}` : "", ` · ${when(ban.created_at)} `,
      action("Lift the ban", async () => {
        await remove(`/moderation/banned-domains/${encodeURIComponent(ban.domain)}`);
        item.remove();
        empty.hidden = list.children.length > 0;
        return `${ban.domain} is no longer banned.`;
      }, { class: "secondary", "aria-label": `Lift the ban on ${ban.domain}` }));
    list.append(item);
  }
  const ban = form(
    { "aria-label": "Ban a domain" },
    [
      field("Domain", input("domain", { required: true, maxlength: 253, placeholder: "example.com" })),
      field("Reason", input("reason", { maxlength: 1000 }), "Plain text, for the moderators."),
    ],
    async (data, node) => {
      const domain = String(data.get("domain") || "").trim();
      const made = await request("PUT", `/moderation/banned-domains/${encodeURIComponent(domain)}`, { json: { reason: String(data.get("reason") || "") } });
      for (const other of list.querySelectorAll("strong")) if (other.textContent === made.domain) other.parentElement?.remove();
      add(made);
      node.reset();
      flash(`${made.domain} is banned.`);
    },
    "Ban",
  );
  page.items.forEach(add);
  return h("section", { "aria-labelledby": "banned-heading" },
    h("h2", { id: "banned-heading" }, "Banned domains"), empty, list, ban);
}

// The edits of published jobs waiting for a decision (the first page of them).
async function editsSection() {
  const page = await get("/moderation/revisions", { limit: 50 });
  const rows = page.items.map((item) => h("tr", {},
    h("td", {}, h("a", { href: `/moderation/revisions/${item.revision.id}` }, item.job.title)),
    h("td", {}, Object.keys(item.revision.changes).map(words).join(", ")),
    h("td", {}, item.revision.signals.filter((signal) => signal.holds).map((signal) => words(signal.code)).join(", ")),
    h("td", {}, when(item.revision.created_at))));
  return h("section", { "aria-labelledby": "edits-heading" },
    h("h2", { id: "edits-heading" }, "Edits held for review"),
    rows.length
      ? h("table", { class: "table" },
          h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Job"), h("th", { scope: "col" }, "Changes"), h("th", { scope: "col" }, "Signals"), h("th", { scope: "col" }, "Waiting since"))),
          h("tbody", {}, rows))
      : h("p", {}, "No edit is waiting for review."));
}

// How a field's value reads, as the job has it or as the edit would make it.
function shown(value) {
  if (value === null || value === undefined) return "(none)";
  return Array.isArray(value) ? value.join(", ") : String(value);
}

export async function moderationRevisionPage(params, id) {
  if (!moderatorOnly(`/moderation/revisions/${id}`)) return;
  let review;
  let version = null;
  try {
    review = await request("GET", `/moderation/revisions/${id}`, { onTag: (tag) => { version = tag; } });
  } catch (error) {
    title("Edit not found");
    render(h("h1", {}, "Edit not found"), h("p", { role: "alert" }, describe(error)), h("p", {}, h("a", { href: "/moderation" }, "Back to the queue")));
    return;
  }
  const { revision, job } = review;
  title(`Edit: ${job.title}`);
  const rows = Object.entries(revision.changes).map(([name, value]) => h("tr", {},
    h("th", { scope: "row" }, words(name)),
    h("td", { class: "letter" }, shown(job[name])),
    h("td", { class: "letter" }, shown(value))));
  const reasons = h("fieldset", { class: "choices" },
    h("legend", {}, "Reasons (for a rejection)"),
    REASONS.map((reason) => h("label", {}, h("input", { type: "checkbox", name: "reasons", value: reason }), ` ${words(reason)}`)));
  const decide = form(
    { "aria-label": "Decide on the edit" },
    [
      field("Decision", select("decision", [["approved", "Approve: apply it"], ["rejected", "Reject it"]])),
      reasons,
      field("Note to the poster", h("textarea", { name: "note", rows: 4, maxlength: 2000 }), "Plain text, mailed as written."),
    ],
    async (data) => {
      await request("POST", `/moderation/revisions/${id}/decisions`, {
        json: { decision: String(data.get("decision")), reasons: data.getAll("reasons").map(String), note: String(data.get("note") || "") },
        ifMatch: version ?? undefined,
      });
      flash(`The edit of "${job.title}": ${words(String(data.get("decision")))}.`);
      navigate("/moderation");
    },
    "Decide",
  );
  render(
    h("p", { class: "back" }, h("a", { href: "/moderation" }, "← Queue")),
    h("h1", {}, `Edit of ${job.title}`),
    h("p", { class: "meta" }, `Asked ${when(revision.created_at)}`, revision.decision ? ` · ${words(revision.decision)} ${when(revision.decided_at)}` : " · waiting", " · ", h("a", { href: `/moderation/jobs/${job.id}` }, "the job's review page")),
    h("table", { class: "table" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Field"), h("th", { scope: "col" }, "On the board"), h("th", { scope: "col" }, "The edit"))),
      h("tbody", {}, rows)),
    h("section", { "aria-labelledby": "edit-signals-heading" },
      h("h2", { id: "edit-signals-heading" }, "Signals"),
      revision.signals.length
        ? h("ul", {}, revision.signals.map((signal) => h("li", {}, signal.says, signal.holds ? " (holds it for review)" : "")))
        : h("p", {}, "None.")),
    revision.decision ? null : h("section", { "aria-labelledby": "edit-decide-heading" }, h("h2", { id: "edit-decide-heading" }, "Decide"), decide),
  );
}

function decisionItem(decision) {
  return h("li", {},
    h("strong", {}, words(decision.decision)),
    ` by ${decision.moderator_name ?? "a former moderator"}, ${when(decision.created_at)}`,
    decision.reasons.length ? ` · ${decision.reasons.map(words).join(", ")}` : "",
    decision.note ? h("p", { class: "letter" }, decision.note) : null);
}

export async function moderationJobPage(params, id) {
  if (!moderatorOnly(`/moderation/jobs/${id}`)) return;
  let review;
  try {
    review = await get(`/moderation/jobs/${id}`);
  } catch (error) {
    const missing = error instanceof Error && "status" in error && error.status === 404;
    title(missing ? "Job not found" : "The job could not be loaded");
    render(
      h("h1", {}, missing ? "Job not found" : "The job could not be loaded"),
      missing ? null : h("p", { role: "alert" }, describe(error)),
      h("p", {}, h("a", { href: "/moderation" }, "Back to the queue")),
    );
    return;
  }
  const { job, company, poster, decisions, reports } = review;
  const thread = await threadSection(id);
  title(`Review: ${job.title}`);
  const reasons = h("fieldset", { class: "choices" },
    h("legend", {}, "Reasons (for a rejection)"),
    REASONS.map((reason) => h("label", {}, h("input", { type: "checkbox", name: "reasons", value: reason }), ` ${words(reason)}`)));
  const decide = form(
    { "aria-label": "Decide" },
    [
      field("Decision", select("decision", DECISIONS)),
      reasons,
      field("Note to the poster", h("textarea", { name: "note", rows: 4, maxlength: 2000 }), "Plain text, mailed as written."),
    ],
    async (data) => {
      await post(`/moderation/jobs/${id}/decisions`, {
        decision: String(data.get("decision")),
        reasons: data.getAll("reasons").map(String),
        note: String(data.get("note") || ""),
      });
      flash(`"${job.title}": ${words(String(data.get("decision")))}.`);
      navigate("/moderation");
    },
    "Decide",
  );
  render(
    h("p", { class: "back" }, h("a", { href: "/moderation" }, "← Queue")),
    h("h1", {}, job.title),
    h("p", { class: "meta", id: "job-status" }, `Status: ${words(job.status)}`, job.submitted_at ? ` · waiting since ${when(job.submitted_at)}` : ""),
    h("section", { "aria-labelledby": "poster-heading" },
      h("h2", { id: "poster-heading" }, "Poster and company"),
      h("dl", { class: "facts" },
        h("dt", {}, "Poster"), h("dd", {}, `${poster.full_name} <${poster.email}>`),
        h("dt", {}, "Member since"), h("dd", {}, when(poster.member_since)),
        h("dt", {}, "Address confirmed"), h("dd", {}, poster.email_verified_at ? when(poster.email_verified_at) : "no"),
        h("dt", {}, "Record"), h("dd", {}, record(poster)),
        h("dt", {}, "Company"), h("dd", {}, company.name, company.website ? ` (${company.website})` : ""),
        h("dt", {}, "Verified"), h("dd", {}, company.verified_domain ? `at ${company.verified_domain}` : "no"),
        h("dt", {}, "Company review"), h("dd", {}, words(company.review_policy)))),
    h("section", { "aria-labelledby": "job-heading" },
      h("h2", { id: "job-heading" }, "The job"),
      h("p", { class: "meta" }, `${job.location} · ${words(job.workplace)} · ${words(job.employment_type)}`),
      h("div", { class: "description" }, markup(job.description_html))),
    h("section", { "aria-labelledby": "signals-heading" },
      h("h2", { id: "signals-heading" }, "Signals"),
      review.signals.length
        ? h("ul", {}, review.signals.map((signal) => h("li", {}, signal.says, signal.holds ? " (holds it for review)" : "")))
        : h("p", {}, "None.")),
    h("section", { "aria-labelledby": "reports-heading" },
      h("h2", { id: "reports-heading" }, "Open reports"),
      reports.length
        ? h("ul", {}, reports.map((report) => h("li", {},
            h("strong", {}, words(report.reason)),
            ` by ${report.reporter_email ?? "someone signed out"}, ${when(report.created_at)}`,
            report.note ? h("p", { class: "letter" }, report.note) : null)))
        : h("p", {}, "None.")),
    h("section", { "aria-labelledby": "decisions-heading" },
      h("h2", { id: "decisions-heading" }, "Decisions"),
      decisions.length ? h("ul", {}, decisions.map(decisionItem)) : h("p", {}, "None yet.")),
    thread,
    job.status === "pending" ? h("section", { "aria-labelledby": "decide-heading" }, h("h2", { id: "decide-heading" }, "Decide"), decide) : null,
  );
}

// A job's thread between its poster and the moderators: the comments, and a form to add
// one (text only: nothing anyone writes becomes markup).
export async function threadSection(jobId) {
  const list = h("ol", { class: "thread" });
  const empty = h("p", {}, "No comments yet.");
  function add(comment) {
    empty.remove();
    list.append(h("li", {},
      h("p", { class: "meta" }, `${comment.author_name ?? (comment.by_moderator ? "A moderator" : "The poster")}, ${when(comment.created_at)}`),
      h("p", { class: "letter" }, comment.body)));
  }
  const comments = await get(`/jobs/${jobId}/comments`);
  const write = form(
    { "aria-label": "Write a comment" },
    [field("Comment", h("textarea", { name: "body", rows: 3, maxlength: 2000, required: true }), "Plain text; the other side is mailed.")],
    async (data, node) => {
      add(await post(`/jobs/${jobId}/comments`, { body: String(data.get("body") || "") }));
      node.reset();
      flash("Your comment is in the thread.");
    },
    "Send",
  );
  const section = h("section", { "aria-labelledby": "thread-heading" },
    h("h2", { id: "thread-heading" }, "The job's thread"),
    comments.length ? null : empty, list, write);
  comments.forEach(add);
  return section;
}
