// A company's team: its members and their roles, invitations by address, what members
// did; and the invitations waiting for the signed-in employer.

import { currentUser, get, patch, post, request } from "../api.js";
import { action, ago, field, flash, form, h, input, select, title, when, words } from "../ui.js";
import { navigate } from "../router.js";
import { confirmByLink } from "./account.js";

const ROLES = [["recruiter", "Recruiter: jobs and applicants"], ["viewer", "Viewer: reads only"], ["owner", "Owner: everything, the team and keys too"]];

// The caller's role in each company, from its team (an admin owns every company).
export async function rolesIn(companies) {
  const user = currentUser();
  const roles = new Map();
  await Promise.all(companies.map(async (company) => {
    if (user && user.role === "admin") {
      roles.set(company.id, "owner");
      return;
    }
    const members = (await get(`/companies/${company.id}/members`)).items;
    const me = members.find((member) => user && member.user_id === user.id);
    roles.set(company.id, me ? me.role : "viewer");
  }));
  return roles;
}

function memberItem(company, member, role, draw) {
  const user = currentUser();
  const mine = user && member.user_id === user.id;
  const controls = [];
  if (role === "owner") {
    const picker = select("role", ROLES.map(([value]) => [value, words(value)]), { "aria-label": `Role of ${member.full_name}` });
    /** @type {HTMLSelectElement} */ (picker).value = member.role;
    controls.push(picker, action("Change role", async () => {
      const changed = await patch(`/companies/${company.id}/members/${member.user_id}`, { role: /** @type {HTMLSelectElement} */ (picker).value });
      await draw();
      return `${member.full_name} is ${words(changed.role).toLowerCase()} now.`;
    }, { class: "secondary" }));
    if (!mine && !member.primary) {
      controls.push(action("Hand over", async () => {
        await post(`/companies/${company.id}/transfer`, { user_id: member.user_id });
        navigate("/dashboard", { replace: true });
        return `${member.full_name} runs ${company.name} now.`;
      }, { class: "secondary" }, { ask: `Hand ${company.name} over to ${member.full_name}? You become a recruiter of it.` }));
    }
  }
  if (mine || role === "owner") {
    controls.push(action(mine ? "Leave" : "Remove", async () => {
      await request("DELETE", `/companies/${company.id}/members/${member.user_id}`);
      if (mine) navigate("/dashboard", { replace: true });
      else await draw();
      return mine ? `You left ${company.name}.` : `${member.full_name} is no longer a member.`;
    }, { class: "secondary", "aria-label": mine ? `Leave ${company.name}` : `Remove ${member.full_name}` },
    { ask: mine ? `Leave ${company.name}?` : `Remove ${member.full_name} from ${company.name}?` }));
  }
  return h("li", {},
    h("strong", {}, member.full_name), " ", h("span", { class: "meta" }, `${member.email} · ${words(member.role)}${member.primary ? " · primary owner" : ""}`),
    " ", controls);
}

function invitationItem(company, invitation, draw) {
  const expired = Date.parse(invitation.expires_at) <= Date.now();
  return h("li", {},
    h("strong", {}, invitation.email), " ",
    h("span", { class: "meta" }, `${words(invitation.role)} · ${expired ? "expired" : `until ${when(invitation.expires_at)}`} · sent ${ago(invitation.last_sent_at || invitation.created_at)}`),
    " ",
    action("Send again", async () => {
      await post(`/companies/${company.id}/invitations/${invitation.id}/resend`);
      await draw();
      return `A new link is on its way to ${invitation.email}.`;
    }, { class: "secondary", "aria-label": `Send the invitation to ${invitation.email} again` }),
    action("Withdraw", async () => {
      await request("DELETE", `/companies/${company.id}/invitations/${invitation.id}`);
      await draw();
      return `The invitation to ${invitation.email} is withdrawn.`;
    }, { class: "secondary", "aria-label": `Withdraw the invitation to ${invitation.email}` }));
}

function activityItem(entry) {
  const who = entry.actor_name || "A former member";
  const by = entry.api_key_id ? `${who} (with an API key)` : who;
  const detail = Object.entries(entry.detail).map(([name, value]) => `${words(name)}: ${Array.isArray(value) ? value.join(", ") : value}`).join(" · ");
  return h("li", {}, h("span", { class: "meta" }, `${when(entry.created_at)} `), `${by}: ${words(entry.action).toLowerCase()}`, detail ? h("span", { class: "meta" }, ` (${detail})`) : null);
}

// The team of a company, for the dashboard's company card.
export function teamArea(company, role) {
  const members = h("ul", { class: "team" });
  const invitations = h("ul", { class: "invitations" });
  const activity = h("ul", { class: "activity" });
  const draw = async () => {
    const team = (await get(`/companies/${company.id}/members`)).items;
    members.replaceChildren(...team.map((member) => memberItem(company, member, role, draw)));
    if (role !== "owner") return;
    const open = (await get(`/companies/${company.id}/invitations`)).items;
    invitations.replaceChildren(...(open.length ? open.map((invitation) => invitationItem(company, invitation, draw)) : [h("li", { class: "meta" }, "No open invitations.")]));
    const done = (await get(`/companies/${company.id}/activity`, { limit: 20 })).items;
    activity.replaceChildren(...(done.length ? done.map(activityItem) : [h("li", { class: "meta" }, "Nothing yet.")]));
  };
  const inviter = role === "owner"
    ? form(
        { "aria-label": `Invite to ${company.name}` },
        [
          field("Their address", input("email", { type: "email", required: true, maxlength: 320 })),
          field("Role", select("role", ROLES)),
        ],
        async (data, node) => {
          const made = await post(`/companies/${company.id}/invitations`, { email: String(data.get("email")), role: String(data.get("role")) });
          if (node instanceof HTMLFormElement) node.reset();
          await draw();
          flash(`An invitation is on its way to ${made.email}.`);
        },
        "Invite",
      )
    : null;
  const area = h("details", { class: "team-area" },
    h("summary", {}, "Team"),
    members,
    role === "owner" ? [h("h4", {}, "Invitations"), invitations, inviter, h("h4", {}, "What members did"), activity] : null);
  area.addEventListener("toggle", () => { if (area.open) draw(); });
  return area;
}

// Invitations to the signed-in employer's address, on the dashboard.
export async function invitationsForMe() {
  const mine = (await get("/users/me/invitations")).items;
  if (!mine.length) return null;
  const section = h("section", { "aria-labelledby": "invited-heading" }, h("h2", { id: "invited-heading" }, "Invitations for you"));
  section.append(h("ul", {}, mine.map((invitation) => h("li", {},
    h("strong", {}, invitation.company_name), ` as ${words(invitation.role).toLowerCase()} `,
    action("Join", async () => {
      await post(`/users/me/invitations/${invitation.id}/accept`);
      navigate("/dashboard", { replace: true });
      return `You joined ${invitation.company_name}.`;
    }, { "aria-label": `Join ${invitation.company_name}` }),
    action("Decline", async () => {
      await post(`/users/me/invitations/${invitation.id}/decline`);
      navigate("/dashboard", { replace: true });
      return `You declined to join ${invitation.company_name}.`;
    }, { class: "secondary", "aria-label": `Decline to join ${invitation.company_name}` })))));
  return section;
}

// The page a mailed invitation opens: sign in (as the invited address) first.
export function invitationPage(params) {
  if (!currentUser()) {
    title("Join a company");
    const next = `${window.location.pathname}${window.location.search}`;
    return navigate(`/signin?next=${encodeURIComponent(next)}`, { replace: true });
  }
  return confirmByLink("Join a company", params, async (token) => {
    await post("/invitations/accept", { token });
    return "You joined the company: it is on your dashboard now.";
  });
}
