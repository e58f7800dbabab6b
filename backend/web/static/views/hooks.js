// A company's webhooks: its endpoints (the secret shown once), their deliveries with a
// replay of each, switched off and on, the secret rotated.

import { get, patch, post, request } from "../api.js";
import { action, ago, field, flash, form, h, input, when } from "../ui.js";

const EVENTS = [
  ["application.created", "an application arrives"],
  ["application.moved", "an application moves"],
  ["application.withdrawn", "a candidate withdraws"],
  ["job.published", "a job is published"],
  ["job.closed", "a job closes"],
];

function secretShown(shown, secret) {
  shown.replaceChildren(h("p", {}, "Copy the signing secret now: it is shown this once."), h("p", {}, h("code", { class: "secret" }, secret)));
}

function deliveryItem(company, endpoint, delivery, draw) {
  const how = delivery.state === "succeeded"
    ? `delivered ${ago(delivery.delivered_at)} (${delivery.response_status}, ${delivery.duration_ms} ms)`
    : delivery.state === "failed"
      ? `given up after ${delivery.attempts} attempts: ${delivery.error}`
      : delivery.error ? `failing (${delivery.error}), next try ${when(delivery.next_attempt_at)}`
        : delivery.attempts ? "being sent" : "waiting";
  return h("li", {},
    h("code", {}, delivery.event_type), " ", h("span", { class: "meta" }, `${when(delivery.created_at)} · ${how}`), " ",
    action("Send again", async () => {
      await post(`/companies/${company.id}/webhooks/${endpoint.id}/deliveries/${delivery.id}/replay`);
      await draw();
      return `The ${delivery.event_type} event goes out again.`;
    }, { class: "secondary", "aria-label": `Send the ${delivery.event_type} event ${delivery.id} again` }));
}

function endpointItem(company, endpoint, shown, redraw) {
  const records = h("ul", { class: "deliveries" });
  const drawRecords = async () => {
    const found = (await get(`/companies/${company.id}/webhooks/${endpoint.id}/deliveries`, { limit: 20 })).items;
    records.replaceChildren(...(found.length ? found.map((delivery) => deliveryItem(company, endpoint, delivery, drawRecords)) : [h("li", { class: "meta" }, "No deliveries yet.")]));
  };
  const state = endpoint.disabled_at
    ? `switched off ${when(endpoint.disabled_at)}`
    : endpoint.failing_since ? `failing since ${when(endpoint.failing_since)}` : "on";
  const details = h("details", {}, h("summary", {}, "Deliveries"), records);
  details.addEventListener("toggle", () => { if (details.open) drawRecords(); });
  return h("li", {},
    h("strong", {}, endpoint.url), " ", h("span", { class: "meta" }, `${endpoint.events.join(", ")} · ${state}`), " ",
    action(endpoint.disabled_at ? "Switch on" : "Switch off", async () => {
      await patch(`/companies/${company.id}/webhooks/${endpoint.id}`, { enabled: Boolean(endpoint.disabled_at) });
      await redraw();
      return endpoint.disabled_at ? "The endpoint is on: what waits goes out." : "The endpoint is off: its events wait for it.";
    }, { class: "secondary", "aria-label": `${endpoint.disabled_at ? "Switch on" : "Switch off"} ${endpoint.url}` }),
    action("New secret", async () => {
      const rotated = await post(`/companies/${company.id}/webhooks/${endpoint.id}/rotate-secret`);
      secretShown(shown, rotated.secret);
      return "A new secret: the old one signs beside it for 24 hours.";
    }, { class: "secondary", "aria-label": `New secret for ${endpoint.url}` }),
    action("Remove", async () => {
      await request("DELETE", `/companies/${company.id}/webhooks/${endpoint.id}`);
      await redraw();
      return `${endpoint.url} gets no more events.`;
    }, { class: "secondary", "aria-label": `Remove ${endpoint.url}` }, { ask: `Remove ${endpoint.url} and its record of deliveries?` }),
    details);
}

// The Webhooks area of a company card, for its owners.
export function hooksArea(company) {
  const list = h("ul", { class: "hooks" });
  const shown = h("div", { role: "status" });
  const draw = async () => {
    const endpoints = (await get(`/companies/${company.id}/webhooks`)).items;
    list.replaceChildren(...(endpoints.length ? endpoints.map((endpoint) => endpointItem(company, endpoint, shown, draw)) : [h("li", { class: "meta" }, "No webhooks yet.")]));
  };
  const maker = form(
    { "aria-label": `New webhook for ${company.name}` },
    [
      field("Endpoint address", input("url", { type: "url", required: true, placeholder: "https://" }), "HTTPS, at a public address"),
      h("fieldset", {}, h("legend", {}, "Post when"),
        EVENTS.map(([value, label]) => h("label", {}, input("event", { type: "checkbox", value, checked: value.startsWith("application") }), ` ${label}`))),
    ],
    async (data, node) => {
      const made = await post(`/companies/${company.id}/webhooks`, { url: String(data.get("url") || "").trim(), events: data.getAll("event").map(String) });
      secretShown(shown, made.secret);
      if (node instanceof HTMLFormElement) node.reset();
      await draw();
      flash(`${made.url} gets the company's events now.`);
    },
    "Add the webhook",
  );
  const area = h("details", { class: "hooks-area" }, h("summary", {}, "Webhooks"), list, shown, maker);
  area.addEventListener("toggle", () => { if (area.open) draw(); });
  return area;
}
