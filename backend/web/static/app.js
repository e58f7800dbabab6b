// The web app: every page is built on the public REST API under /api/v1.

import { currentUser, onSessionChange, restore, signOut } from "./api.js";
import { h, title, render } from "./ui.js";
import { fallback, navigate, onShow, route, start } from "./router.js";
import { feedsPage, home, jobPage, savedJobsPage } from "./views/jobs.js";
import {
  accountPage,
  forgotPasswordPage,
  resetPasswordPage,
  signInPage,
  signUpPage,
  unsubscribePage,
  verifyEmailPage,
} from "./views/account.js";
import { applicationsPage, profilePage, savedSearchesPage } from "./views/candidate.js";
import { dashboardJobPage, dashboardPage, integrationsPage, openCheckPage, teamPage, verifyCompanyPage } from "./views/employer.js";
import { adminPage } from "./views/admin.js";
import { invitationPage } from "./views/team.js";
import { moderationJobPage, moderationPage, moderationRevisionPage } from "./views/moderation.js";

function link(href, text) {
  const here = window.location.pathname === href;
  return h("li", {}, h("a", { href, "aria-current": here ? "page" : undefined }, text));
}

function drawNav(user) {
  const nav = document.getElementById("nav");
  const items = [link("/", "Jobs")];
  if (!user) {
    items.push(link("/signin", "Sign in"), link("/signup", "Create account"));
  } else {
    if (user.role === "candidate") items.push(link("/applications", "My applications"), link("/profile", "Profile"));
    if (user.role === "employer" || user.role === "admin") items.push(link("/dashboard", "Dashboard"));
    if (user.role === "moderator" || user.role === "admin") items.push(link("/moderation", "Moderation"));
    if (user.role === "admin") items.push(link("/admin", "Admin"));
    items.push(link("/saved-jobs", "Saved jobs"), link("/saved-searches", "Saved searches"), link("/account", "Account"));
    const out = h("button", { type: "button", class: "link" }, "Sign out");
    out.addEventListener("click", async () => {
      await signOut();
      navigate("/");
    });
    items.push(h("li", {}, out));
  }
  nav.replaceChildren(...items);
}

route("/", home);
route("/jobs/:id", (params, id) => jobPage(id));
route("/signin", signInPage);
route("/signup", signUpPage);
route("/forgot-password", forgotPasswordPage);
route("/reset-password", resetPasswordPage);
route("/verify-email", verifyEmailPage);
route("/unsubscribe", unsubscribePage);
route("/verify-company", verifyCompanyPage);
route("/open-check", openCheckPage);
route("/invitations/accept", invitationPage);
route("/account", accountPage);
route("/applications", applicationsPage);
route("/profile", profilePage);
route("/saved-searches", savedSearchesPage);
route("/saved-jobs", savedJobsPage);
route("/dashboard", dashboardPage);
route("/dashboard/jobs/:id", dashboardJobPage);
route("/dashboard/companies/:id/team", teamPage);
route("/dashboard/companies/:id/integrations", integrationsPage);
route("/admin", adminPage);
route("/moderation", moderationPage);
route("/moderation/jobs/:id", moderationJobPage);
route("/moderation/revisions/:id", moderationRevisionPage);
route("/feeds", feedsPage);
fallback(() => {
  title("Not found");
  render(h("h1", {}, "Page not found"), h("p", {}, h("a", { href: "/" }, "Back to the jobs")));
});

onSessionChange(drawNav);
onShow(() => drawNav(currentUser()));

await restore();
await start();
