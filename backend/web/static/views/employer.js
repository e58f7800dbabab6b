// An employer's dashboard: companies, jobs in every status, and each job's applicants.

import { allPages, currentUser, download, get, options, patch, post, remove, request } from "../api.js";
import { action, ago, choices, describe, field, flash, form, h, input, render, saveFile, select, title, when, words } from "../ui.js";
import { navigate } from "../router.js";
import { threadSection } from "./moderation.js";
import { verifiedBadge } from "./jobs.js";
import { interviewsOf, timelineOf } from "./candidate.js";
import { confirmByLink } from "./account.js";
import { invitationsForMe, rolesIn, teamArea } from "./team.js";
import { hooksArea } from "./hooks.js";
import { REJECTION_TEMPLATES, answersOf, movableStages, pipelineBoard, questionsEditor, rejectionMail, stagesEditor } from "./pipeline.js";

const REJECTION_REASONS = ["not_a_fit", "not_enough_experience", "position_filled", "duplicate", "spam", "other"];

// Descriptions take Markdown; the API renders it (backend/core/markdown.py).
const MARKDOWN_HINT = "Markdown: **bold**, *italic*, lists (- item), [links](https://…), ### headings.";

function employerOnly(path) {
  const user = currentUser();
  if (!user) {
    navigate(`/signin?next=${path}`, { replace: true });
    return null;
  }
  if (user.role !== "employer" && user.role !== "admin") {
    title("Dashboard");
    render(h("h1", {}, "Dashboard"), h("p", {}, "The dashboard is for employers."));
    return null;
  }
  return user;
}

// A published job past its expiry date is off the board for everyone else: say so; a
// held one is waiting for a moderator.
export function shownStatus(job) {
  const expired = job.status === "published" && job.expires_at && Date.parse(job.expires_at) <= Date.now();
  if (expired) return "expired";
  return job.status === "pending" ? "in review" : job.status;
}

// What a job's owner is told of a publication they asked for.
function published(job) {
  return job.status === "pending"
    ? `"${job.title}" is waiting for a moderator's review; you will be mailed the decision.`
    : `"${job.title}" is published.`;
}

// The expiry date as the date input shows it (the day, in UTC), and back: the job then
// leaves the board at the end of that day, UTC.
function expiryDay(job) {
  return job.expires_at ? job.expires_at.slice(0, 10) : "";
}

// The job's form, offering the API's choices (`offered`, GET /options) within its limits.
function jobFields(companies, offered, job = {}) {
  const limits = offered.limits;
  const fields = [
    field("Company", select("company_id", companies.map((company) => [String(company.id), company.name]))),
    field("Title", input("title", { value: job.title, required: true, maxlength: limits.job_title })),
    field("Description", h("textarea", { name: "description", rows: 8, required: true }, job.description || ""), MARKDOWN_HINT),
    field("Location", input("location", { value: job.location, required: true })),
    field("Workplace", select("workplace", choices(offered.workplaces))),
    field("Type", select("employment_type", choices(offered.employment_types))),
    field("Minimum salary", input("salary_min", { type: "number", min: 0, value: job.salary_min })),
    field("Maximum salary", input("salary_max", { type: "number", min: 0, value: job.salary_max })),
    field("Currency", input("salary_currency", { value: job.salary_currency, maxlength: 3, placeholder: "EUR" })),
    field("Tags", input("tags", { value: (job.tags || []).join(", ") }), "Comma-separated, lowercase"),
    field("Expires on", input("expires_on", { type: "date", value: expiryDay(job) }), "The last day it is on the board (UTC); empty: until it is closed"),
  ];
  return fields;
}

function jobBody(data, { partial }) {
  const number = (name) => {
    const value = String(data.get(name) || "").trim();
    return value === "" ? null : Number(value);
  };
  const body = {
    title: String(data.get("title") || ""),
    description: String(data.get("description") || ""),
    location: String(data.get("location") || ""),
    workplace: String(data.get("workplace")),
    employment_type: String(data.get("employment_type")),
    salary_min: number("salary_min"),
    salary_max: number("salary_max"),
    salary_currency: String(data.get("salary_currency") || "").trim().toUpperCase() || null,
    tags: String(data.get("tags") || "").split(",").map((tag) => tag.trim().toLowerCase()).filter(Boolean),
  };
  const day = String(data.get("expires_on") || "");
  if (day) body.expires_at = `${day}T23:59:59Z`;
  else if (partial) body.expires_at = null;
  if (!partial) body.company_id = Number(data.get("company_id"));
  return body;
}

// "3 applicants: 2 submitted, 1 interviewing" (nothing for a job without any).
function applicantSummary(counts) {
  if (!counts) return "none";
  const parts = counts.by_stage.filter((stage) => stage.applications).map((stage) => `${stage.applications} ${stage.name}`);
  const withdrawn = counts.by_status.withdrawn;
  if (withdrawn) parts.push(`${withdrawn} withdrawn`);
  return `${counts.total}: ${parts.join(", ")}`;
}

function jobRow(job, companies, counts) {
  const status = h("td", {}, shownStatus(job));
  const actions = h("td", { class: "row-actions" });
  const company = companies.find((item) => item.id === job.company_id);
  function refresh(changed) {
    status.textContent = shownStatus(changed);
    job = changed;
    fill();
  }
  function fill() {
    actions.replaceChildren(
      h("a", { href: `/dashboard/jobs/${job.id}` }, "Applicants and edit"),
      job.status === "rejected"
        ? null
        : job.status === "pending"
        ? action("Withdraw from review", async () => {
            refresh(await patch(`/jobs/${job.id}`, { status: "draft" }));
            return `"${job.title}" is a draft again.`;
          })
        : job.status !== "published"
        ? action("Publish", async () => {
            const changed = await patch(`/jobs/${job.id}`, { status: "published" });
            refresh(changed);
            return published(changed);
          })
        : action("Close", async () => {
            refresh(await patch(`/jobs/${job.id}`, { status: "closed" }));
            return `"${job.title}" is closed.`;
          }, {}, { ask: () => `Close "${job.title}"? It leaves the board and takes no more applications.` }),
      action("Delete", async () => {
        await remove(`/jobs/${job.id}`);
        row.remove();
        return `"${job.title}" is deleted.`;
      }, { class: "danger" }, { ask: () => `Delete "${job.title}" and its applications?` }),
    );
  }
  fill();
  const row = h("tr", {}, h("td", {}, shownStatus(job) === "published" ? h("a", { href: `/jobs/${job.id}` }, job.title) : job.title), h("td", {}, company ? company.name : ""), status, h("td", {}, applicantSummary(counts)), actions);
  return row;
}

export async function dashboardPage() {
  const user = employerOnly("/dashboard");
  if (!user) return;
  title("Dashboard");
  const [companies, jobs, offered, counted, invited] = await Promise.all([allPages("/users/me/companies"), allPages("/users/me/jobs"), options(), allPages("/users/me/applicant-counts"), invitationsForMe()]);
  const roles = await rolesIn(companies);
  const counts = new Map(counted.map((item) => [item.job_id, item]));
  const companyList = h("ul", { class: "cards" }, companies.map((company) => companyItem(company, roles.get(company.id) || "owner")));
  // Jobs are posted for the companies the caller may post for (not as a viewer).
  const posting = companies.filter((company) => roles.get(company.id) !== "viewer");
  const empty = h("tr", {}, h("td", { colspan: 5 }, "No jobs yet."));
  const jobsBody = h("tbody", {}, jobs.length ? jobs.map((job) => jobRow(job, companies, counts.get(job.id))) : empty);
  const newJob = posting.length
    ? form(
        { "aria-label": "Post a job" },
        [...jobFields(posting, offered), field("Status", select("status", [["draft", "Draft"], ["published", "Published"]]))],
        async (data, node) => {
          const job = await post("/jobs", { ...jobBody(data, { partial: false }), status: String(data.get("status")) });
          empty.remove();
          jobsBody.prepend(jobRow(job, companies, undefined));
          node.reset();
          flash(job.status === "pending"
            ? `Posted "${job.title}": a moderator reviews it before it is published, and you will be mailed the decision.`
            : `Posted "${job.title}" as ${job.status}.`);
        },
        "Post the job",
      )
    : h("p", {}, companies.length ? "You may read your companies' jobs: a recruiter or an owner posts them." : "Add a company first.");
  render(
    h("h1", {}, "Dashboard"),
    user.email_verified ? null : h("p", { class: "notice" }, "Confirm your address (see ", h("a", { href: "/account" }, "Account"), ") before publishing jobs."),
    invited,
    h("section", { "aria-labelledby": "jobs-heading" },
      h("h2", { id: "jobs-heading" }, "Your jobs"),
      h("table", { class: "table" },
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Title"), h("th", { scope: "col" }, "Company"), h("th", { scope: "col" }, "Status"), h("th", { scope: "col" }, "Applicants"), h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")))),
        jobsBody)),
    h("section", { "aria-labelledby": "post-heading" }, h("h2", { id: "post-heading" }, "Post a job"), newJob),
    h("section", { "aria-labelledby": "companies-heading" },
      h("h2", { id: "companies-heading" }, "Your companies"),
      companyList,
      form(
        { "aria-label": "Add a company" },
        [
          field("Company name", input("name", { required: true, maxlength: 200 })),
          field("Website", input("website", { type: "url", placeholder: "https://" })),
          field("About", h("textarea", { name: "description", rows: 3 }), MARKDOWN_HINT),
        ],
        async (data, node) => {
          const company = await post("/companies", {
            name: String(data.get("name")),
            website: String(data.get("website") || "").trim() || null,
            description: String(data.get("description") || "").trim() || null,
          });
          companyList.append(companyItem(company, "owner"));
          node.reset();
          flash(`Added ${company.name}.`);
          if (!companies.length) navigate("/dashboard", { replace: true });
        },
        "Add company",
      )),
  );
}

function companyItem(company, role) {
  const owner = role === "owner";
  const name = h("span", {}, company.name);
  const editor = form(
    { "aria-label": `Edit ${company.name}`, class: "inline", hidden: true },
    [
      field("Company name", input("name", { value: company.name, required: true })),
      field("Website", input("website", { type: "url", value: company.website })),
      field("About", h("textarea", { name: "description", rows: 3 }, company.description || ""), MARKDOWN_HINT),
    ],
    async (data) => {
      const changed = await patch(`/companies/${company.id}`, {
        name: String(data.get("name")),
        website: String(data.get("website") || "").trim() || null,
        description: String(data.get("description") || "").trim() || null,
      });
      name.textContent = changed.name;
      editor.hidden = true;
    },
    "Save company",
  );
  const toggle = h("button", { type: "button", class: "secondary", onclick: () => { editor.hidden = !editor.hidden; } }, "Edit");
  const links = h("p", { class: "links" },
    h("a", { href: `/dashboard/companies/${company.id}/team` }, owner ? "Team and activity" : "Team"),
    owner ? [" · ", h("a", { href: `/dashboard/companies/${company.id}/integrations` }, "Integrations: API keys and webhooks")] : null);
  return h("li", { class: "card" },
    h("h3", {}, name, verifiedBadge(company.verified)),
    h("p", { class: "meta" }, [company.website, `you are ${words(role).toLowerCase()}`].filter(Boolean).join(" · ")),
    owner ? [toggle, editor, verifyArea(company)] : null,
    links);
}

// A company's own page of the dashboard: its name, the caller's role in it, and `build`'s
// sections (the caller must be a member: anyone else is told it is not found).
async function companyPage(id, what, build) {
  const user = employerOnly(`/dashboard/companies/${id}/${what}`);
  if (!user) return;
  let company;
  let role;
  try {
    company = await get(`/companies/${id}`);
    role = (await rolesIn([company])).get(company.id) || "viewer";
  } catch (error) {
    title("Company not found");
    render(h("h1", {}, "Company not found"), h("p", { role: "alert" }, describe(error)));
    return;
  }
  title(`${company.name}: ${what}`);
  const sections = build(company, role);
  render(
    h("p", {}, h("a", { href: "/dashboard" }, "← Dashboard")),
    h("h1", {}, `${company.name}: ${what}`),
    h("p", { class: "meta" }, `You are ${words(role).toLowerCase()} of ${company.name}.`),
    sections,
  );
  for (const section of sections) {
    if (section instanceof HTMLDetailsElement) section.open = true;
  }
}

export function teamPage(params, id) {
  return companyPage(id, "team", (company, role) => [teamArea(company, role)]);
}

export function integrationsPage(params, id) {
  return companyPage(id, "integrations", (company, role) => role === "owner"
    ? [keysArea(company), hooksArea(company)]
    : [h("p", {}, "Only the company's owners manage its API keys and webhooks.")]);
}

// A company's API keys, for its applicant-tracking system: made here (the secret shown
// once), listed with when each was last used, revoked.
function keysArea(company) {
  const list = h("ul", { class: "keys" });
  const draw = async () => {
    const keys = (await get(`/companies/${company.id}/api-keys`)).items;
    list.replaceChildren(...(keys.length ? keys.map((key) => h("li", {},
      h("strong", {}, key.name), " ", h("code", {}, `${key.prefix}…`),
      h("span", { class: "meta" }, ` ${key.scopes.join(", ")} · ${key.revoked_at ? `revoked ${when(key.revoked_at)}` : key.last_used_at ? `last used ${ago(key.last_used_at)}` : "never used"}${key.expires_at ? ` · expires ${when(key.expires_at)}` : ""}`),
      key.revoked_at ? null : action("Revoke", async () => {
        await request("DELETE", `/companies/${company.id}/api-keys/${key.id}`);
        await draw();
        return `The key ${key.name} is revoked: it stops working now.`;
      }, { class: "secondary", "aria-label": `Revoke the key ${key.name}` }, { ask: `Revoke the key ${key.name}? Whatever uses it stops working at once.` })))
      : [h("li", { class: "meta" }, "No keys yet.")]));
  };
  const shown = h("div", { role: "status" });
  const maker = form(
    { "aria-label": `New API key for ${company.name}` },
    [
      field("Key name", input("name", { maxlength: 100, required: true }), "What uses it, such as your applicant-tracking system"),
      h("fieldset", {}, h("legend", {}, "It may"),
        h("label", {}, input("scope", { type: "checkbox", value: "jobs:read", checked: true }), " read the company's jobs"),
        h("label", {}, input("scope", { type: "checkbox", value: "jobs:write", checked: true }), " publish, change and close them"),
        h("label", {}, input("scope", { type: "checkbox", value: "applications:read" }), " read the applications to them"),
        h("label", {}, input("scope", { type: "checkbox", value: "applications:write" }), " move those applications")),
      field("Expires on (optional)", input("expires", { type: "date" })),
    ],
    async (data, node) => {
      const body = { name: String(data.get("name") || "").trim(), scopes: data.getAll("scope").map(String) };
      const expires = String(data.get("expires") || "");
      if (expires) body.expires_at = `${expires}T23:59:59Z`;
      const made = await post(`/companies/${company.id}/api-keys`, body);
      shown.replaceChildren(h("p", {}, "Copy the key now: it is shown this once."), h("p", {}, h("code", { class: "secret" }, made.secret)));
      if (node instanceof HTMLFormElement) node.reset();
      await draw();
    },
    "Make the key",
  );
  const area = h("details", { class: "keys-area" }, h("summary", {}, "API keys"), list, shown, maker);
  area.addEventListener("toggle", () => { if (area.open) draw(); });
  return area;
}

// A company proves a mailbox at its website's domain: the link is mailed there.
function verifyArea(company) {
  if (company.verified) return h("p", { class: "meta" }, `Verified at ${company.verified_domain}.`);
  if (!company.website) return h("p", { class: "meta" }, "Give the company its website to verify it.");
  return h("details", { class: "verify" },
    h("summary", {}, "Verify this company"),
    form(
      { "aria-label": `Verify ${company.name}` },
      [field("An address at the website's domain", input("email", { type: "email", required: true, maxlength: 320 }))],
      async (data, node) => {
        const answer = await post(`/companies/${company.id}/verification`, { email: String(data.get("email")) });
        node.replaceWith(h("p", { class: "success", role: "status" }, answer.detail, " Open the link in it to verify the company."));
      },
      "Mail the link",
    ),
  );
}

// Edits of the published job held for review: the one waiting (which its poster may take
// back) and those decided, newest first.
function editsSection(jobId, revisions) {
  if (!revisions.length) return h("div", { id: "held-edits", hidden: true });
  const section = h("section", { "aria-labelledby": "edits-heading", id: "held-edits" });
  const items = revisions.map((revision) => h("li", {},
    h("strong", {}, revision.decision ? words(revision.decision) : "Waiting for review"),
    `, ${when(revision.created_at)}: ${Object.keys(revision.changes).map(words).join(", ")}`,
    revision.reasons.length ? ` · ${revision.reasons.map(words).join(", ")}` : "",
    revision.note ? h("p", { class: "letter" }, revision.note) : null,
    revision.decision ? null : action("Withdraw the changes", async () => {
      await remove(`/jobs/${jobId}/revision`);
      section.replaceWith(editsSection(jobId, revisions.filter((other) => other.id !== revision.id)));
      return "Your changes are withdrawn.";
    }, { class: "secondary" })));
  section.append(h("h2", { id: "edits-heading" }, "Changes held for review"), h("ul", {}, items));
  return section;
}

// Candidates see when the employer last confirmed a job open; the board asks now and then.
function stillOpen(job) {
  const said = h("span", {}, `Confirmed open ${ago(job.confirmed_open_at)}. `);
  return h("p", { class: "meta", id: "open-check" }, said, action("Still open", async () => {
    const confirmed = await post(`/jobs/${job.id}/open-confirmations`);
    said.textContent = `Confirmed open ${ago(confirmed.confirmed_open_at)}. `;
    return `"${confirmed.title}" is confirmed open.`;
  }, { class: "secondary" }));
}

export function openCheckPage(params) {
  return confirmByLink("Is the job still open?", params, async (token) => {
    const job = await request("POST", "/jobs/open-check", { json: { token }, auth: false });
    return job.status === "closed"
      ? `"${job.title}" is closed, and its candidates are told. Thank you!`
      : `"${job.title}" is confirmed open. Thank you!`;
  });
}

export function verifyCompanyPage(params) {
  return confirmByLink("Verify a company", params, async (token) => {
    const company = await request("POST", "/companies/verify", { json: { token }, auth: false });
    return `${company.name} is verified at ${company.verified_domain}.`;
  });
}

export async function dashboardJobPage(params, id) {
  const user = employerOnly(`/dashboard/jobs/${id}`);
  if (!user) return;
  let job;
  try {
    job = await get(`/jobs/${id}`);
  } catch (error) {
    // Not found is one thing; the server or the network failing is another, and says so.
    const missing = error instanceof Error && "status" in error && error.status === 404;
    title(missing ? "Job not found" : "The job could not be loaded");
    render(
      h("h1", {}, missing ? "Job not found" : "The job could not be loaded"),
      missing ? null : h("p", { role: "alert" }, describe(error)),
      h("p", {}, h("a", { href: "/dashboard" }, "Back to the dashboard")),
    );
    return;
  }
  title(job.title);
  const [companies, offered] = await Promise.all([allPages("/users/me/companies"), options()]);
  const [applications, decisions, thread, revisions, pipeline] = await Promise.all([allPages(`/jobs/${id}/applications`), get(`/jobs/${id}/decisions`), threadSection(id), get(`/jobs/${id}/revisions`), get(`/jobs/${id}/stages`)]);
  let stages = pipeline.stages;
  const stageName = (key) => (stages.find((stage) => stage.key === key) || { name: key }).name;
  const shownStage = (application) => (application.stage ? `${stageName(application.stage)} (${words(application.status)})` : words(application.status));
  const applicantRow = (application) => {
    const current = h("td", {}, shownStage(application));
    const { final: finals } = offered.application_statuses;
    const targets = movableStages(stages);
    const picker = select("stage", targets.map((stage) => [stage.key, stage.name]), { "aria-label": `Stage of application ${application.id}` });
    picker.value = targets.some((stage) => stage.key === application.stage) ? application.stage : targets[0].key;
    const final = finals.includes(application.status);
    const mail = rejectionMail(application.id, application.candidate_name);
    const profile = h("div", { class: "profile" });
    const reason = select("reason", [["", "Reason (if rejected)"], ...REJECTION_REASONS.map((value) => [value, words(value)])], { "aria-label": `Reason for rejecting application ${application.id}` });
    const history = h("details", { class: "timeline" }, h("summary", {}, "Answers, timeline, notes and interviews"));
    history.addEventListener("toggle", () => {
      if (history.open && history.childElementCount === 1) history.append(answersOf(application.id), timelineOf(application.id, true), interviewsOf(application.id, true));
    }, { once: true });
    const who = application.masked
      ? h("td", {}, application.candidate_name, h("br"), h("span", { class: "meta" }, "Hidden by the blind first pass"), h("br"), action("Reveal", async () => {
          await post(`/applications/${application.id}/reveal`, {});
          applicants.replaceWith(applicants = applicantTable(await allPages(`/jobs/${id}/applications`)));
          return "Revealed; your timeline records it.";
        }, { class: "secondary", "aria-label": `Reveal who made application ${application.id}` }))
      : h("td", {}, application.candidate_name, h("br"), h("a", { href: `mailto:${application.candidate_email}` }, application.candidate_email));
    return h("tr", {},
      h("td", {}, h("input", { type: "checkbox", name: "selected", value: String(application.id), "aria-label": `Select ${application.candidate_name}'s application` })),
      who,
      current,
      h("td", {}, when(application.created_at)),
      h("td", {},
        application.cover_letter ? h("details", {}, h("summary", {}, "Cover letter"), h("p", { class: "letter" }, application.cover_letter)) : null,
        application.resume_id ? action("Résumé", async () => {
          const resume = await get(`/resumes/${application.resume_id}`);
          saveFile(await download(`/resumes/${application.resume_id}/file`), resume.file_name);
        }, { class: "secondary", "aria-label": `Download ${application.candidate_name}'s résumé` }) : null,
        action("Profile", async (button) => {
          const shown = await get(`/applications/${application.id}/profile`);
          // replaceChildren writes a null as the text "null": only the parts there are.
          profile.replaceChildren(...[
            shown.updated_at ? null : h("p", { class: "meta" }, "No profile yet."),
            shown.headline ? h("p", {}, h("strong", {}, shown.headline)) : null,
            shown.summary ? h("p", { class: "letter" }, shown.summary) : null,
            shown.skills.length ? h("ul", { class: "tags", "aria-label": "Skills" }, shown.skills.map((skill) => h("li", {}, skill))) : null,
            h("p", { class: "meta" }, [shown.location, shown.work_authorization, shown.open_to_remote ? "open to remote work" : ""].filter(Boolean).join(" · ")),
            shown.links.length ? h("ul", {}, shown.links.map((address) => h("li", {}, h("a", { href: address, rel: "noopener noreferrer nofollow", target: "_blank" }, address)))) : null,
          ].filter((part) => part !== null));
          button.hidden = true;
        }, { class: "secondary", "aria-label": `${application.candidate_name}'s profile` }),
        profile),
      h("td", { class: "row-actions" }, final ? null : [picker, reason, mail.node, action("Move", async () => {
        const body = { stage: picker.value };
        const rejecting = (stages.find((stage) => stage.key === picker.value) || {}).status === "rejected";
        if (rejecting && reason.value) body.reason = reason.value;
        if (rejecting && mail.value()) body.mail = mail.value();
        const changed = await patch(`/applications/${application.id}`, body);
        current.textContent = shownStage(changed);
        await redrawBoard();
        return `${application.candidate_name}'s application is now in ${stageName(changed.stage)}.`;
      }, { "aria-label": `Move ${application.candidate_name}'s application` })], history));
  };
  const applicantTable = (list) => list.length
    ? h("table", { class: "table" },
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Select")), h("th", { scope: "col" }, "Who"), h("th", { scope: "col" }, "Stage"), h("th", { scope: "col" }, "Applied"), h("th", { scope: "col" }, "Letter, résumé, profile"), h("th", { scope: "col" }, "Change"))),
        h("tbody", {}, list.map(applicantRow)))
    : h("p", {}, "No applications match.");
  let applicants = applicantTable(applications);
  // The board: a column per stage; redrawn, with the table, after any move.
  let board = await pipelineBoard(id, async () => {
    applicants.replaceWith(applicants = applicantTable(await allPages(`/jobs/${id}/applications`)));
    await redrawBoard();
  });
  const redrawBoard = async () => {
    stages = (await get(`/jobs/${id}/stages`)).stages;
    const fresh = await pipelineBoard(id, async () => {
      applicants.replaceWith(applicants = applicantTable(await allPages(`/jobs/${id}/applications`)));
      await redrawBoard();
    });
    board.replaceWith(fresh);
    board = fresh;
  };
  // Several at once: all or nothing (a final one among them stops the whole move).
  const bulkStage = select("stage", movableStages(stages).map((stage) => [stage.key, stage.name]), { "aria-label": "New stage of the selected applications" });
  const bulkReason = select("reason", [["", "Reason (if rejected)"], ...REJECTION_REASONS.map((value) => [value, words(value)])], { "aria-label": "Reason for rejecting the selected applications" });
  const bulkMail = select("template", [["", "No mail"], ...REJECTION_TEMPLATES], { "aria-label": "Mail to the selected candidates if rejected" });
  const bulk = h("div", { class: "row-actions" }, bulkStage, bulkReason, bulkMail, action("Move the selected", async () => {
    const ids = [...applicants.querySelectorAll("input[name=selected]:checked")].map((box) => Number(box.value));
    if (!ids.length) return "Select applications first.";
    const body = { application_ids: ids, stage: bulkStage.value };
    const rejecting = (stages.find((stage) => stage.key === bulkStage.value) || {}).status === "rejected";
    if (rejecting && bulkReason.value) body.reason = bulkReason.value;
    if (rejecting && bulkMail.value) body.mail = { template: bulkMail.value };
    await post(`/jobs/${id}/applications/status`, body);
    applicants.replaceWith(applicants = applicantTable(await allPages(`/jobs/${id}/applications`)));
    await redrawBoard();
    return `${ids.length} application${ids.length === 1 ? " is" : "s are"} now in ${stageName(bulkStage.value)}.`;
  }));
  const stageEditor = await stagesEditor(id, redrawBoard);
  const screening = await questionsEditor(id);
  // A blind first pass: who applied stays hidden until revealed or moved on.
  const blindBox = input("blind", { type: "checkbox" });
  blindBox.checked = (await get(`/jobs/${id}/review-settings`)).blind;
  blindBox.addEventListener("change", async () => {
    await request("PUT", `/jobs/${id}/review-settings`, { json: { blind: blindBox.checked } });
    applicants.replaceWith(applicants = applicantTable(await allPages(`/jobs/${id}/applications`)));
    flash(blindBox.checked ? "The first pass is blind: names are hidden until revealed or moved on." : "Names are shown.");
  });
  const blindSetting = h("div", { class: "field" }, h("label", {}, blindBox, " Blind first pass (hide who applied until revealed or moved past screening)"));
  const exporter = action("Download as CSV", async () => {
    saveFile(await download(`/jobs/${id}/applications.csv`), `applications-job-${id}.csv`);
  }, { class: "secondary" });
  // Search the text of the applicants' résumés (the worker reads each one after upload).
  const finder = form(
    { class: "inline", role: "search", "aria-label": "Search the résumés" },
    [field("Search the résumés", input("q", { type: "search", maxlength: 200 }), "Words, \"a phrase\", -without")],
    async (data) => {
      const q = String(data.get("q") || "").trim();
      const found = await allPages(`/jobs/${id}/applications`, { q });
      applicants.replaceWith(applicants = applicantTable(found));
    },
    "Search",
  );
  const editor = form(
    { "aria-label": "Edit the job" },
    jobFields(companies, offered, job),
    async (data) => {
      const response = await request("PATCH", `/jobs/${id}`, { json: jobBody(data, { partial: true }) });
      if ("changes" in response) {
        // Held for review: the job stays as it was until a moderator approves the edit.
        edits.replaceWith(edits = editsSection(id, await get(`/jobs/${id}/revisions`)));
        flash("Your changes wait for a moderator's review; the job shows them once approved.");
        return;
      }
      title(response.title);
      flash("Saved.");
    },
    "Save changes",
  );
  let edits = editsSection(id, revisions);
  for (const name of ["workplace", "employment_type", "company_id"]) {
    editor.elements.namedItem(name).value = String(job[name]);
  }
  editor.elements.namedItem("company_id").disabled = true;
  render(
    h("p", { class: "back" }, h("a", { href: "/dashboard" }, "← Dashboard")),
    h("h1", {}, job.title),
    h("p", { class: "meta", id: "job-status" }, `Status: ${shownStatus(job)}`, job.expires_at ? ` · expires ${when(job.expires_at)}` : ""),
    job.status === "published" ? stillOpen(job) : null,
    decisions.length
      ? h("section", { "aria-labelledby": "decisions-heading" },
          h("h2", { id: "decisions-heading" }, "Moderators' decisions"),
          h("ul", {}, decisions.map((decision) => h("li", {},
            h("strong", {}, words(decision.decision)), `, ${when(decision.created_at)}`,
            decision.reasons.length ? ` · ${decision.reasons.map(words).join(", ")}` : "",
            decision.note ? h("p", { class: "letter" }, decision.note) : null))))
      : null,
    edits,
    thread,
    h("section", { "aria-labelledby": "applicants-heading" },
      h("h2", { id: "applicants-heading" }, "Applicants"),
      blindSetting,
      applications.length ? [h("h3", {}, "Pipeline"), board, h("h3", {}, "Every application"), finder, exporter, bulk, applicants] : h("p", {}, "No applications yet.")),
    h("section", { "aria-labelledby": "stages-heading" },
      h("h2", { id: "stages-heading" }, "Stages"),
      h("p", { class: "hint" }, "Rename, add, reorder; a stage holding applications cannot be removed. Each belongs to a status, which is what candidates are told."),
      stageEditor),
    h("section", { "aria-labelledby": "questions-heading" },
      h("h2", { id: "questions-heading" }, "Screening questions"),
      h("p", { class: "hint" }, "Asked when candidates apply; an answer that rules a candidate out files the application as rejected."),
      screening),
    h("section", { "aria-labelledby": "edit-heading" }, h("h2", { id: "edit-heading" }, "Edit"), editor),
  );
}
