// A candidate's applications, and everyone's saved searches.

import { allPages, currentUser, options, patch, remove } from "../api.js";
import { action, h, render, title, when, words } from "../ui.js";
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
      return h("tr", {},
        h("td", {}, h("a", { href: `/jobs/${application.job_id}` }, jobTitle), h("br"), h("span", { class: "meta" }, application.company_name)),
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
