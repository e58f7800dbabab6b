// A candidate's applications, and everyone's saved searches.

import { allPages, currentUser, download, get, options, patch, post, remove, request, upload } from "../api.js";
import { action, bytes, describe, field, flash, form, h, input, render, saveFile, title, when, words } from "../ui.js";
import { navigate } from "../router.js";

export async function applicationsPage() {
  const user = currentUser();
  if (!user) return navigate("/signin?next=/applications", { replace: true });
  title("My applications");
  const [applications, offered] = await Promise.all([
    user.role === "candidate" ? allPages("/users/me/applications") : [],
    options(),
  ]);
  const finals = offered.application_statuses.final;
  // Each application comes with its job's title and company: one request for the list.
  const rows = applications.map((application) => {
      const jobTitle = application.job_title;
      const status = h("td", {}, words(application.status));
      const withdraw = finals.includes(application.status)
        ? null
        : action("Withdraw", async () => {
            const changed = await patch(`/applications/${application.id}`, { status: "withdrawn" });
            status.textContent = words(changed.status);
            withdraw.remove();
            return `Your application for ${jobTitle} is withdrawn.`;
          }, {}, { ask: `Withdraw your application for ${jobTitle}? This cannot be undone.` });
      const history = h("details", { class: "timeline" }, h("summary", {}, "Timeline"));
      history.addEventListener("toggle", () => {
        if (history.open && history.childElementCount === 1) history.append(timelineOf(application.id, false), interviewsOf(application.id, false));
      }, { once: true });
      return h("tr", {},
        h("td", {}, h("a", { href: `/jobs/${application.job_id}` }, jobTitle), h("br"), h("span", { class: "meta" }, application.company_name), history),
        status,
        h("td", {}, when(application.created_at)),
        h("td", {}, withdraw));
    });
  render(
    h("h1", {}, "My applications"),
    rows.length
      ? h("table", { class: "table" },
          h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Job"), h("th", { scope: "col" }, "Status"), h("th", { scope: "col" }, "Applied"), h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")))),
          h("tbody", {}, rows))
      : h("p", {}, "No applications yet. ", h("a", { href: "/" }, "Find a job"), "."),
  );
}

function describeSearch(search) {
  const parts = Object.entries(search)
    .filter(([key, value]) => value !== null && key !== "sort")
    .map(([key, value]) => `${words(key)}: ${Array.isArray(value) ? value.join(", ") : value}`);
  return parts.join(" · ") || "every job";
}

function searchLink(search) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(search)) {
    if (value === null) continue;
    for (const item of Array.isArray(value) ? value : [value]) query.append(key, item);
  }
  return `/?${query}`;
}

export async function savedSearchesPage() {
  const user = currentUser();
  if (!user) return navigate("/signin?next=/saved-searches", { replace: true });
  title("Saved searches");
  const searches = await allPages("/users/me/saved-searches");
  const items = searches.map((saved) => {
    const frequency = h("span", {}, saved.frequency);
    const item = h("li", { class: "card" },
      h("h2", {}, h("a", { href: searchLink(saved.search) }, saved.name)),
      h("p", { class: "meta" }, describeSearch(saved.search), " · mailed ", frequency),
      h("div", { class: "row-actions" },
        action(saved.frequency === "daily" ? "Mail weekly" : "Mail daily", async (button) => {
          const next = frequency.textContent === "daily" ? "weekly" : "daily";
          await patch(`/users/me/saved-searches/${saved.id}`, { frequency: next });
          frequency.textContent = next;
          button.textContent = next === "daily" ? "Mail weekly" : "Mail daily";
          return `"${saved.name}" is now mailed ${next}.`;
        }, { class: "secondary" }),
        action("Delete", async () => {
          await remove(`/users/me/saved-searches/${saved.id}`);
          item.remove();
          return `"${saved.name}" is deleted.`;
        }, { class: "danger" }, { ask: `Delete the saved search "${saved.name}"?` })));
    return item;
  });
  render(
    h("h1", {}, "Saved searches"),
    h("p", {}, "Each saved search mails you the jobs newly published that match it. Save one from the search page."),
    items.length ? h("ul", { class: "cards" }, items) : h("p", {}, "None yet. ", h("a", { href: "/" }, "Search for jobs"), " and save the search."),
  );
}

// A candidate's résumés: each one downloadable and removable. Removing one sent with an
// application keeps it for that employer.
export function resumeItem(resume) {
  const item = h("li", { class: "card" },
    h("h3", {}, resume.file_name),
    h("p", { class: "meta" }, `${bytes(resume.size)}`, resume.pages ? ` · ${resume.pages} page${resume.pages === 1 ? "" : "s"}` : "", ` · uploaded ${when(resume.created_at)}`),
    h("div", { class: "row-actions" },
      action("Download", async () => {
        saveFile(await download(`/resumes/${resume.id}/file`), resume.file_name);
      }, { class: "secondary", "aria-label": `Download ${resume.file_name}` }),
      action("Remove", async () => {
        await remove(`/users/me/resumes/${resume.id}`);
        item.remove();
        return `${resume.file_name} is removed.`;
      }, { class: "danger", "aria-label": `Remove ${resume.file_name}` }, { ask: `Remove ${resume.file_name}? Employers you sent it to keep their copy.` })));
  return item;
}

// An upload field's file, sent as the body; the server names its kind.
export async function uploadResume(file) {
  return upload("/users/me/resumes", file, { file_name: file.name });
}

export async function profilePage() {
  const user = currentUser();
  if (!user) return navigate("/signin?next=/profile", { replace: true });
  title("My profile");
  if (user.role !== "candidate") {
    render(h("h1", {}, "My profile"), h("p", {}, "Profiles and résumés are for candidates' accounts."));
    return;
  }
  const [profile, resumes] = await Promise.all([get("/users/me/profile"), get("/users/me/resumes")]);
  const list = h("ul", { class: "cards", "aria-label": "My résumés" }, resumes.items.map(resumeItem));
  const remote = input("open_to_remote", { type: "checkbox" });
  remote.checked = profile.open_to_remote;
  const editor = form(
    { "aria-label": "My profile" },
    [
      field("Headline", input("headline", { value: profile.headline, maxlength: 120 }), "One line employers read first"),
      field("Summary", h("textarea", { name: "summary", rows: 6, maxlength: 5000 }, profile.summary)),
      field("Skills", input("skills", { value: profile.skills.join(", ") }), "Separated by commas, like a job's tags"),
      field("Links", h("textarea", { name: "links", rows: 3 }, profile.links.join("\n")), "One web address a line (at most 5)"),
      field("Location", input("location", { value: profile.location, maxlength: 200 })),
      field("Work authorisation", input("work_authorization", { value: profile.work_authorization, maxlength: 200 }), "Where you may work, and whether you need a visa"),
      h("div", { class: "field" }, h("label", {}, remote, " Open to remote work")),
    ],
    async (data) => {
      const text = (name) => String(data.get(name) || "").trim();
      const listed = (value, separator) => value.split(separator).map((part) => part.trim()).filter(Boolean);
      await request("PUT", "/users/me/profile", { json: {
        headline: text("headline"),
        summary: text("summary"),
        skills: listed(text("skills"), ","),
        links: listed(text("links"), "\n"),
        location: text("location"),
        work_authorization: text("work_authorization"),
        open_to_remote: data.get("open_to_remote") !== null,
      } });
      flash("Your profile is saved.");
    },
    "Save the profile",
  );
  const uploader = form(
    { "aria-label": "Upload a résumé" },
    [field("Résumé file", input("file", { type: "file", accept: ".pdf,.docx,.odt,.rtf,.txt" }), "PDF, Word (DOCX), OpenDocument (ODT), RTF or plain text, at most 5 MB")],
    async (data, node) => {
      const file = data.get("file");
      if (!(file instanceof File) || !file.name) {
        flash("Choose a file first.");
        return;
      }
      const resume = await uploadResume(file);
      list.prepend(resumeItem(resume));
      node.reset();
      flash(`${resume.file_name} is uploaded.`);
    },
    "Upload",
  );
  render(
    h("h1", {}, "My profile"),
    h("p", {}, "Employers you apply to read your profile and the résumé you send."),
    editor,
    h("section", { "aria-labelledby": "resumes-heading" },
      h("h2", { id: "resumes-heading" }, "My résumés"),
      list,
      uploader),
  );
}

// An application's timeline, oldest first; for the employer's side (`private`), with its
// notes, reasons and names, and a form to add a note.
export function timelineOf(applicationId, isPrivate) {
  const list = h("ol", { class: "events" });
  const box = h("div", {}, list);
  const describeEvent = (event) => {
    const parts = [when(event.created_at), " · ", words(event.kind)];
    if (event.status) parts.push(`: ${words(event.status)}`);
    if (event.kind === "interview" && event.detail) parts.push(`: ${words(event.detail)}`);
    if (event.reason) parts.push(` (${words(event.reason)})`);
    if (event.actor_name) parts.push(` · ${event.actor_name}`);
    return h("li", {}, parts, event.note ? h("p", { class: "letter" }, event.note) : null);
  };
  allPages(`/applications/${applicationId}/timeline`).then((events) => {
    list.replaceChildren(...events.map(describeEvent));
  }, (error) => {
    list.replaceChildren(h("li", { role: "alert" }, describe(error)));
  });
  if (isPrivate) {
    box.append(form(
      { "aria-label": `Add a note to application ${applicationId}` },
      [field("Private note", h("textarea", { name: "note", rows: 2, maxlength: 5000 }), "Only your side reads it")],
      async (data, node) => {
        const added = await post(`/applications/${applicationId}/notes`, { note: String(data.get("note") || "") });
        list.append(describeEvent(added));
        node.reset();
      },
      "Add the note",
    ));
  }
  return box;
}

// An application's interviews: the candidate accepts or declines a proposed one; the
// employer's side (`isReviewer`) proposes one and cancels them.
export function interviewsOf(applicationId, isReviewer) {
  const list = h("ul", { class: "interviews", "aria-label": `Interviews for application ${applicationId}` });
  const none = h("li", {}, "None yet.");
  const box = h("div", {}, h("h3", {}, "Interviews"), list);
  const describeInterview = (interview) => {
    const item = h("li", {},
      `${new Date(interview.starts_at).toLocaleString()} · ${interview.minutes} minutes · ${interview.location} · ${words(interview.state)}`,
      interview.note ? h("p", { class: "letter" }, interview.note) : null);
    const replace = (changed) => item.replaceWith(describeInterview(changed));
    if (!isReviewer && interview.state === "proposed") {
      item.append(
        action("Accept", async () => {
          replace(await post(`/interviews/${interview.id}/answer`, { accept: true }));
          return "You accepted the interview.";
        }),
        action("Decline", async () => {
          replace(await post(`/interviews/${interview.id}/answer`, { accept: false }));
          return "You declined the interview.";
        }, { class: "secondary" }),
      );
    }
    if (isReviewer && interview.state !== "cancelled") {
      item.append(action("Cancel the interview", async () => {
        replace(await post(`/interviews/${interview.id}/cancel`, {}));
        return "The interview is cancelled; the candidate is mailed.";
      }, { class: "danger" }, { ask: "Cancel this interview? The candidate is mailed." }));
    }
    return item;
  };
  get(`/applications/${applicationId}/interviews`).then((found) => {
    list.replaceChildren(...(found.items.length ? found.items.map(describeInterview) : [none]));
  }, (error) => {
    list.replaceChildren(h("li", { role: "alert" }, describe(error)));
  });
  if (isReviewer) {
    box.append(form(
      { "aria-label": `Propose an interview for application ${applicationId}` },
      [
        field("When", input("starts_at", { type: "datetime-local", required: true }), "Your local time"),
        field("Minutes", input("minutes", { type: "number", min: 15, max: 480, value: 45 })),
        field("Where", input("location", { maxlength: 500, placeholder: "An address or a video link" })),
        field("Note for the candidate", h("textarea", { name: "note", rows: 2, maxlength: 2000 })),
      ],
      async (data, node) => {
        const local = String(data.get("starts_at") || "");
        const proposed = await post(`/applications/${applicationId}/interviews`, {
          starts_at: local ? new Date(local).toISOString() : "",
          minutes: Number(data.get("minutes")),
          location: String(data.get("location") || "").trim(),
          note: String(data.get("note") || "").trim(),
        });
        none.remove();
        list.append(describeInterview(proposed));
        node.reset();
        flash("The interview is proposed; the candidate is mailed an invitation.");
      },
      "Propose the interview",
    ));
  }
  return box;
}
