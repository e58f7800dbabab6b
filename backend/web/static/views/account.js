// Signing up and in, passwords, confirming an address, notification settings, unsubscribing.

import { currentUser, get, patch, post, reloadUser, request, signIn, signOutEverywhere } from "../api.js";
import { action, describe, field, flash, form, h, input, render, select, title } from "../ui.js";
import { navigate } from "../router.js";

function safeNext(params) {
  const next = params.get("next") || "";
  return next.startsWith("/") && !next.startsWith("//") ? next : "/";
}

export function signInPage(params) {
  title("Sign in");
  render(
    h("section", { class: "narrow" },
      h("h1", {}, "Sign in"),
      form(
        { "aria-label": "Sign in" },
        [
          field("Email", input("username", { type: "email", autocomplete: "username", required: true })),
          field("Password", input("password", { type: "password", autocomplete: "current-password", required: true })),
        ],
        async (data) => {
          await signIn(String(data.get("username")), String(data.get("password")));
          navigate(safeNext(params), { replace: true });
        },
        "Sign in",
      ),
      h("p", {}, h("a", { href: "/forgot-password" }, "Forgot your password?")),
      h("p", {}, "New here? ", h("a", { href: "/signup" }, "Create an account")),
    ),
  );
}

export function signUpPage() {
  title("Create an account");
  const role = select("role", [["candidate", "I am looking for a job"], ["employer", "I am hiring"]]);
  render(
    h("section", { class: "narrow" },
      h("h1", {}, "Create an account"),
      form(
        { "aria-label": "Create an account" },
        [
          field("Full name", input("full_name", { autocomplete: "name", required: true, maxlength: 200 })),
          field("Email", input("email", { type: "email", autocomplete: "email", required: true })),
          field("Password", input("password", { type: "password", autocomplete: "new-password", required: true, minlength: 8 }), "At least 8 characters; a long passphrase is best"),
          field("Account type", role),
        ],
        async (data) => {
          const email = String(data.get("email"));
          const password = String(data.get("password"));
          await post("/auth/register", {
            email,
            password,
            full_name: String(data.get("full_name")),
            role: String(data.get("role")),
          });
          const user = await signIn(email, password);
          flash(`Welcome! We mailed a link to ${email}: open it to confirm your address.`);
          navigate(user && user.role === "employer" ? "/dashboard" : "/", { replace: true });
        },
        "Create account",
      ),
      h("p", {}, "Already have an account? ", h("a", { href: "/signin" }, "Sign in")),
    ),
  );
}

export function forgotPasswordPage() {
  title("Forgot your password?");
  render(
    h("section", { class: "narrow" },
      h("h1", {}, "Forgot your password?"),
      h("p", {}, "Enter your address: if it belongs to an account, a link to choose a new password is on its way."),
      form(
        { "aria-label": "Ask for a reset link" },
        [field("Email", input("email", { type: "email", autocomplete: "email", required: true }))],
        async (data, node) => {
          const answer = await post("/auth/password-reset", { email: String(data.get("email")) });
          node.replaceWith(h("p", { class: "success", role: "status" }, answer.detail));
        },
        "Send the link",
      ),
    ),
  );
}

export function resetPasswordPage(params) {
  title("Choose a new password");
  const token = params.get("token") || "";
  window.history.replaceState({}, "", window.location.pathname);
  render(
    h("section", { class: "narrow" },
      h("h1", {}, "Choose a new password"),
      form(
        { "aria-label": "Choose a new password" },
        [field("New password", input("new_password", { type: "password", autocomplete: "new-password", required: true, minlength: 8 }), "At least 8 characters")],
        async (data, node) => {
          await post("/auth/password-reset/confirm", { token, new_password: String(data.get("new_password")) });
          node.replaceWith(h("p", { class: "success", role: "status" }, "Your password is changed, and every session ended. ", h("a", { href: "/signin" }, "Sign in"), " with the new one."));
        },
        "Change password",
      ),
    ),
  );
}

export async function confirmByLink(kind, params, run) {
  title(kind);
  const status = h("p", { role: "status" }, "One moment…");
  render(h("section", { class: "narrow" }, h("h1", {}, kind), status));
  const token = params.get("token") || "";
  // The token leaves the address (and the history) once read: a reload does not spend it.
  window.history.replaceState({}, "", window.location.pathname);
  try {
    const message = await run(token);
    status.replaceChildren(h("span", { class: "success" }, message));
  } catch (error) {
    status.replaceChildren(h("span", { class: "problem" }, describe(error)));
  }
}

export function verifyEmailPage(params) {
  return confirmByLink("Confirm your address", params, async (token) => {
    await post("/auth/verify-email", { token });
    if (currentUser()) await reloadUser();
    return "Your address is confirmed. Thank you!";
  });
}

export function unsubscribePage(params) {
  return confirmByLink("Unsubscribe", params, async (token) => {
    const answer = await request("POST", "/notifications/unsubscribe", { params: { token }, auth: false });
    return `${answer.detail} You can turn it on again in your account settings.`;
  });
}

// The kinds of mail, and who can get each: a candidate never gets an employer's, nor the
// other way round; an admin can get them all.
/** @type {[string, string, string[]][]} */
const KINDS = [
  ["new_applicants", "New applicants to my jobs", ["employer", "admin"]],
  ["application_status", "Changes to my applications", ["candidate", "admin"]],
  ["job_alerts", "New jobs for my saved searches", ["candidate", "employer", "admin"]],
  ["job_expiry", "My jobs are about to expire", ["employer", "admin"]],
];

export async function accountPage() {
  const user = currentUser();
  if (!user) return navigate("/signin?next=/account", { replace: true });
  title("Account");
  const settings = await get("/users/me/notifications");
  const kinds = KINDS.filter(([, , roles]) => roles.includes(user.role));
  const boxes = kinds.map(([kind, label]) => {
    const box = input(kind, { type: "checkbox", id: `notify-${kind}` });
    box.checked = settings[kind];
    return h("div", { class: "check" }, box, h("label", { for: box.id }, label));
  });
  const unconfirmed = user.email_verified
    ? null
    : h("div", { class: "notice" },
        h("p", {}, `Your address ${user.email} is not confirmed yet: until it is, you cannot apply to jobs or publish them.`),
        action("Send the link again", async () => {
          const answer = await post("/auth/verify-email/resend");
          flash(answer.detail);
        }));
  render(
    h("section", { class: "narrow" },
      h("h1", {}, "Account"),
      unconfirmed,
      h("h2", {}, "Your details"),
      form(
        { "aria-label": "Your details" },
        [
          field("Full name", input("full_name", { value: user.full_name, autocomplete: "name", maxlength: 200 })),
          field("Email", input("email", { type: "email", value: user.email, autocomplete: "email" }), "A new address takes effect once you open the link we mail to it"),
          field("Current password", input("current_password", { type: "password", autocomplete: "current-password" }), "Needed to change your address"),
        ],
        async (data) => {
          const body = { full_name: String(data.get("full_name")) };
          const email = String(data.get("email")).trim();
          if (email && email.toLowerCase() !== user.email.toLowerCase()) {
            body.email = email;
            body.current_password = String(data.get("current_password"));
          }
          await patch("/users/me", body);
          await reloadUser();
          flash(body.email ? `Saved. Open the link we mailed to ${body.email} to use it.` : "Saved.");
        },
        "Save",
      ),
      h("h2", {}, "Mail we send you"),
      form(
        { "aria-label": "Mail we send you" },
        h("fieldset", {}, h("legend", {}, "Send me mail about"), boxes),
        async (data) => {
          const body = {};
          for (const [kind] of kinds) body[kind] = data.get(kind) === "on";
          await patch("/users/me/notifications", body);
          flash("Saved.");
        },
        "Save",
      ),
      h("h2", {}, "Sessions"),
      h("p", {}, "Signed in somewhere you no longer use, or worried someone else is? Signing out everywhere ends every session, this one included, and every link we mailed you that is still unused."),
      action("Sign out everywhere", async () => {
        await signOutEverywhere();
        navigate("/signin", { replace: true });
        return "You are signed out everywhere.";
      }, { class: "danger" }, { ask: "Sign out on every device, this one included?" }),
    ),
  );
}
