// A job's pipeline on the employer's page: a board with a column per stage (moves by the
// keyboard, with each card's own control, and by the pointer, dragging a card onto a
// column), the editor of its stages, the editor of its screening questions, and a
// rejection's mail with its preview.

import { allPages, get, patch, post, request } from "../api.js";
import { action, form, h, input, field, flash, select, when, words } from "../ui.js";

/** @typedef {{ key: string, name: string, status: string, applications: number }} Stage */

const STAGE_STATUSES = ["submitted", "reviewing", "interviewing", "offered", "hired", "rejected"];
const FINAL = ["hired", "rejected", "withdrawn"];
export const REJECTION_TEMPLATES = [
  ["standard", "Standard"],
  ["after_interview", "After interviews"],
  ["position_filled", "Position filled"],
];

/**
 * The stages an employer may move an application into: all but those of `submitted`.
 * @param {Stage[]} stages
 */
export function movableStages(stages) {
  return stages.filter((stage) => stage.status !== "submitted");
}

/**
 * The board: a column per stage, each listing its applications as cards.
 * @param {number} jobId
 * @param {() => Promise<void>} changed called after a move, to redraw what depends on it
 */
export async function pipelineBoard(jobId, changed) {
  const [pipeline, applications] = await Promise.all([get(`/jobs/${jobId}/stages`), allPages(`/jobs/${jobId}/applications`)]);
  /** @type {Stage[]} */
  const stages = pipeline.stages;
  const targets = movableStages(stages);
  const moveTo = async (application, key) => {
    const stage = stages.find((s) => s.key === key);
    await patch(`/applications/${application.id}`, { stage: key });
    await changed();
    flash(`${application.candidate_name} is now in ${stage ? stage.name : key}.`);
  };
  const card = (application) => {
    const final = FINAL.includes(application.status);
    const picker = select("stage", targets.filter((s) => s.key !== application.stage).map((s) => [s.key, s.name]), { "aria-label": `Move ${application.candidate_name} to` });
    const node = h("li", { class: "card", draggable: final ? "false" : "true", "data-application": String(application.id) },
      h("strong", {}, application.candidate_name),
      h("span", { class: "meta" }, ` applied ${when(application.created_at)}`),
      final ? null : h("div", { class: "row-actions" }, picker, action("Move", () => moveTo(application, picker.value), { class: "secondary", "aria-label": `Move ${application.candidate_name}` })));
    node.addEventListener("dragstart", (event) => {
      if (event.dataTransfer) event.dataTransfer.setData("text/plain", String(application.id));
    });
    return node;
  };
  const byStage = new Map(stages.map((stage) => [stage.key, []]));
  const withdrawn = [];
  for (const application of applications) {
    const list = application.stage ? byStage.get(application.stage) : null;
    if (list) list.push(application);
    else withdrawn.push(application);
  }
  const column = (stage) => {
    const list = byStage.get(stage.key) || [];
    const node = h("section", { class: "column", "aria-label": `${stage.name}: ${list.length}`, "data-stage": stage.key },
      h("h3", {}, stage.name, " ", h("span", { class: "meta" }, `${list.length} · ${words(stage.status)}`)),
      list.length ? h("ul", { class: "cards" }, list.map(card)) : h("p", { class: "meta" }, "None"));
    if (stage.status === "submitted") return node;
    node.addEventListener("dragover", (event) => {
      event.preventDefault();
      node.classList.add("drop");
    });
    node.addEventListener("dragleave", () => node.classList.remove("drop"));
    node.addEventListener("drop", async (event) => {
      event.preventDefault();
      node.classList.remove("drop");
      const id = Number(event.dataTransfer ? event.dataTransfer.getData("text/plain") : "");
      const application = applications.find((a) => a.id === id);
      if (!application || application.stage === stage.key) return;
      try {
        await moveTo(application, stage.key);
      } catch (error) {
        flash(error instanceof Error ? error.message : "The move failed.");
      }
    });
    return node;
  };
  return h("div", { class: "pipeline" },
    // Wider than the page on a phone: a region the keyboard can scroll too.
    h("div", { class: "board", role: "region", "aria-label": "Pipeline", tabindex: "0" }, stages.map(column)),
    withdrawn.length ? h("p", { class: "meta" }, `Withdrawn by the candidate: ${withdrawn.map((a) => a.candidate_name).join(", ")}`) : null);
}

/**
 * The stages' editor: rename, add, reorder, remove (one that holds applications stays).
 * @param {number} jobId
 * @param {() => Promise<void>} changed
 */
export async function stagesEditor(jobId, changed) {
  let tag = null;
  const pipeline = await request("GET", `/jobs/${jobId}/stages`, { onTag: (value) => { tag = value; } });
  /** @type {{ key?: string, name: string, status: string, applications: number }[]} */
  const rows = pipeline.stages.map((stage) => ({ ...stage }));
  const list = h("ol", { class: "stages" });
  const draw = () => {
    list.replaceChildren(...rows.map((row, index) => {
      const name = input(`stage-${index}`, { value: row.name, maxlength: 40, "aria-label": `Name of stage ${index + 1}` });
      name.addEventListener("input", () => { row.name = name.value; });
      const swap = (other) => {
        [rows[index], rows[other]] = [rows[other], rows[index]];
        draw();
        const moved = list.querySelector(`[name=stage-${other}]`);
        if (moved instanceof HTMLElement) moved.focus();
      };
      return h("li", { class: "row-actions" },
        name,
        h("span", { class: "meta" }, words(row.status), row.applications ? ` · ${row.applications}` : ""),
        h("button", { type: "button", class: "secondary", disabled: index === 0, "aria-label": `Move ${row.name} up`, onclick: () => swap(index - 1) }, "↑"),
        h("button", { type: "button", class: "secondary", disabled: index === rows.length - 1, "aria-label": `Move ${row.name} down`, onclick: () => swap(index + 1) }, "↓"),
        h("button", { type: "button", class: "secondary", disabled: row.applications > 0, "aria-label": `Remove ${row.name}`, onclick: () => { rows.splice(index, 1); draw(); } }, "Remove"));
    }));
  };
  draw();
  const newName = input("new-stage", { maxlength: 40 });
  const newStatus = select("new-status", STAGE_STATUSES.map((status) => [status, words(status)]));
  const adder = h("div", { class: "row-actions" },
    field("New stage", newName),
    field("Of status", newStatus),
    h("button", { type: "button", class: "secondary", onclick: () => {
      if (!newName.value.trim()) return;
      rows.push({ name: newName.value.trim(), status: newStatus.value, applications: 0 });
      newName.value = "";
      draw();
    } }, "Add"));
  return form({ "aria-label": "Stages" }, [list, adder], async () => {
    const body = { stages: rows.map((row) => (row.key ? { key: row.key, name: row.name } : { name: row.name, status: row.status })) };
    const saved = await request("PUT", `/jobs/${jobId}/stages`, { json: body, ifMatch: tag ?? undefined, onTag: (value) => { tag = value; } });
    rows.splice(0, rows.length, ...saved.stages.map((stage) => ({ ...stage })));
    draw();
    await changed();
    flash("The stages are saved.");
  }, "Save the stages");
}

const KINDS = [["yes_no", "Yes or no"], ["choice", "A choice"], ["number", "A number"], ["text", "A short text"]];

function describeQuestion(question) {
  const out = [];
  if (question.knockout_answer !== null && question.knockout_answer !== undefined) out.push(`"${question.knockout_answer ? "yes" : "no"}" rules out`);
  if (question.knockout_choices && question.knockout_choices.length) out.push(`${question.knockout_choices.join(", ")} rule out`);
  if (question.knockout_below !== null && question.knockout_below !== undefined) out.push(`below ${question.knockout_below} rules out`);
  if (question.knockout_above !== null && question.knockout_above !== undefined) out.push(`above ${question.knockout_above} rules out`);
  const kind = KINDS.find(([value]) => value === question.kind);
  return [kind ? kind[1] : words(question.kind), question.required ? "required" : "optional", ...(question.choices ? [question.choices.join(" / ")] : []), ...out].join(" · ");
}

/**
 * The screening questions' editor: the list, and a form to add one.
 * @param {number} jobId
 */
export async function questionsEditor(jobId) {
  /** @type {Record<string, unknown>[]} */
  let questions = (await get(`/jobs/${jobId}/questions`)).questions;
  const list = h("ul", { class: "questions" });
  const strip = (question) => Object.fromEntries(Object.entries(question).filter(([key, value]) => key !== "id" && value !== null));
  const save = async (next) => {
    questions = (await request("PUT", `/jobs/${jobId}/questions`, { json: { questions: next.map(strip) } })).questions;
    draw();
  };
  const draw = () => {
    list.replaceChildren(...questions.map((question, index) => h("li", {},
      h("strong", {}, String(question.prompt)), h("br"), h("span", { class: "meta" }, describeQuestion(question)), " ",
      action("Remove", async () => {
        await save(questions.filter((_, at) => at !== index));
        return "The question is removed.";
      }, { class: "secondary", "aria-label": `Remove the question ${question.prompt}` }))));
    if (!questions.length) list.replaceChildren(h("li", { class: "meta" }, "No questions: applying asks only for a résumé and a letter."));
  };
  draw();
  const adder = form({ "aria-label": "Add a question" }, [
    field("Question", input("prompt", { maxlength: 300 })),
    field("Answered with", select("kind", KINDS)),
    field("Choices", input("choices", { maxlength: 2000 }), "For a choice: the choices, separated by commas"),
    h("div", { class: "field" }, h("label", {}, input("required", { type: "checkbox" }), " Required")),
    field("Rules out", input("knockout", { maxlength: 2000 }), "Yes or no: the answer that rules a candidate out (yes or no); a choice: the choices that do, by commas; a number: the least and most that pass, as min-max (either may be left out)"),
  ], async (data, node) => {
    const kind = String(data.get("kind"));
    const question = { kind, prompt: String(data.get("prompt") || "").trim(), required: data.get("required") === "on" };
    const knockout = String(data.get("knockout") || "").trim();
    if (kind === "choice") {
      question.choices = String(data.get("choices") || "").split(",").map((c) => c.trim()).filter(Boolean);
      if (knockout) question.knockout_choices = knockout.split(",").map((c) => c.trim()).filter(Boolean);
    } else if (kind === "yes_no" && knockout) {
      question.knockout_answer = /^y/i.test(knockout);
    } else if (kind === "number" && knockout) {
      const [low, high] = knockout.split("-").map((part) => part.trim());
      if (low) question.knockout_below = Number(low);
      if (high) question.knockout_above = Number(high);
    }
    await save([...questions, question]);
    if (node instanceof HTMLFormElement) node.reset();
    flash("The question is added.");
  }, "Add the question");
  return h("div", {}, list, adder);
}

/**
 * Fields asking a job's screening questions, named by each question's id (so that the
 * API's 422 lands beside its field), and a reader of their answers.
 * @param {Record<string, any>[]} questions
 */
export function questionFields(questions) {
  const fields = questions.map((question) => {
    const label = `${question.prompt}${question.required ? "" : " (optional)"}`;
    if (question.kind === "yes_no") return field(label, select(question.id, [["", "Choose"], ["true", "Yes"], ["false", "No"]]));
    if (question.kind === "choice") return field(label, select(question.id, [["", "Choose"], ...question.choices.map((c) => [c, c])]));
    if (question.kind === "number") return field(label, input(question.id, { type: "number", step: "any" }));
    return field(label, h("textarea", { name: question.id, rows: 3, maxlength: 1000 }));
  });
  /** @param {FormData} data */
  const answers = (data) => {
    /** @type {Record<string, unknown>} */
    const out = {};
    for (const question of questions) {
      const raw = String(data.get(question.id) ?? "").trim();
      if (!raw) continue;
      if (question.kind === "yes_no") out[question.id] = raw === "true";
      else if (question.kind === "number") out[question.id] = Number(raw);
      else out[question.id] = raw;
    }
    return out;
  };
  return { fields, answers };
}

/**
 * An application's answers, as asked when the candidate applied.
 * @param {number} applicationId
 */
export function answersOf(applicationId) {
  const node = h("div", { class: "answers" });
  get(`/applications/${applicationId}/answers`).then(({ answers }) => {
    if (!answers.length) return;
    node.append(h("h4", {}, "Screening answers"), h("dl", {}, answers.flatMap((answer) => [
      h("dt", {}, answer.prompt),
      h("dd", {}, answer.answer === null ? "Not answered" : answer.answer === true ? "Yes" : answer.answer === false ? "No" : String(answer.answer),
        answer.knocked_out ? h("strong", {}, " (ruled out)") : null),
    ])));
  }, () => {});
  return node;
}

/**
 * A rejection's mail: the template, the employer's own words, and a preview.
 * @param {number} applicationId
 * @param {string} who
 */
export function rejectionMail(applicationId, who) {
  const template = select("template", [["", "No mail"], ...REJECTION_TEMPLATES], { "aria-label": `Mail to ${who} if rejected` });
  const message = h("textarea", { name: "message", rows: 3, maxlength: 2000, "aria-label": `Your words to ${who} (optional)`, placeholder: "Your words (optional)" });
  const shown = h("div", { class: "preview", hidden: true });
  const preview = action("Preview the mail", async () => {
    if (!template.value) return "Choose a template first.";
    const body = { template: template.value };
    if (message.value.trim()) body.message = message.value.trim();
    const mail = await post(`/applications/${applicationId}/rejection-preview`, body);
    shown.replaceChildren(h("p", {}, h("strong", {}, mail.subject)), h("pre", { class: "letter" }, mail.text));
    shown.hidden = false;
    return undefined;
  }, { class: "secondary", "aria-label": `Preview the rejection mail to ${who}` });
  const value = () => {
    if (!template.value) return undefined;
    const mail = { template: template.value };
    if (message.value.trim()) mail.message = message.value.trim();
    return mail;
  };
  return { node: h("div", { class: "rejection-mail" }, template, message, preview, shown), value };
}
