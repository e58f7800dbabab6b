// Admins: find accounts by email, change roles, deactivate.

import { currentUser, get, patch } from "../api.js";
import { action, describe, field, form, h, input, render, select, title, when } from "../ui.js";
import { navigate } from "../router.js";

const ROLES = [["candidate", "Candidate"], ["employer", "Employer"], ["moderator", "Moderator"], ["admin", "Admin"]];

function userRow(user) {
  const role = select("role", ROLES, { "aria-label": `Role of ${user.email}` });
  role.value = user.role;
  const active = h("td", {}, user.is_active ? "active" : "deactivated");
  let current = user;
  const toggle = action(user.is_active ? "Deactivate" : "Reactivate", async () => {
    current = await patch(`/admin/users/${user.id}`, { is_active: !current.is_active });
    active.textContent = current.is_active ? "active" : "deactivated";
    toggle.querySelector("button").textContent = current.is_active ? "Deactivate" : "Reactivate";
    return `${user.email} is ${current.is_active ? "active again" : "deactivated"}.`;
  }, { class: "danger" }, {
    ask: () => (current.is_active
      ? `Deactivate ${user.email}? Every session of theirs ends at once.`
      : `Reactivate ${user.email}?`),
  });
  return h("tr", {},
    h("td", {}, user.email),
    h("td", {}, user.full_name),
    h("td", { class: "row-actions" }, role, action("Set role", async () => {
      current = await patch(`/admin/users/${user.id}`, { role: role.value });
      return `${user.email} is now ${current.role === "admin" ? "an admin" : `a ${current.role}`}.`;
    })),
    active,
    h("td", {}, when(user.created_at)),
    h("td", {}, toggle));
}

export async function adminPage(params) {
  const user = currentUser();
  if (!user) return navigate("/signin?next=/admin", { replace: true });
  title("Admin");
  if (user.role !== "admin") {
    render(h("h1", {}, "Admin"), h("p", {}, "This page is for admins."));
    return;
  }
  const email = params.get("email") || "";
  const body = h("tbody");
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "Load more");
  let cursor;
  const problem = h("p", { class: "inline-error", role: "alert" });
  async function load(append) {
    problem.textContent = "";
    try {
      const page = await get("/admin/users", { email, limit: 50, cursor: append ? cursor : undefined });
      if (!append) body.replaceChildren();
      body.append(...page.items.map(userRow));
      cursor = page.next_cursor;
      more.hidden = !cursor;
    } catch (error) {
      // Where the list would be: what failed, in words.
      problem.textContent = `The accounts could not be loaded: ${describe(error)}`;
    }
  }
  more.addEventListener("click", () => load(true));
  render(
    h("h1", {}, "Admin"),
    form(
      { role: "search", "aria-label": "Find accounts", class: "search compact" },
      [field("Email contains", input("email", { value: email, type: "search" }))],
      async (data) => navigate(`/admin?email=${encodeURIComponent(String(data.get("email") || ""))}`),
      "Find",
    ),
    h("table", { class: "table" },
      h("thead", {}, h("tr", {},
        h("th", { scope: "col" }, "Email"), h("th", { scope: "col" }, "Name"), h("th", { scope: "col" }, "Role"),
        h("th", { scope: "col" }, "State"), h("th", { scope: "col" }, "Joined"), h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")))),
      body),
    problem,
    more,
  );
  await load(false);
}
