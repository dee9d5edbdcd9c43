// custtype agent page: plain JS, no build step.
// Customer text is only ever put into the page with textContent / text nodes, never innerHTML.
"use strict";

const UI = {
  en: {
    title: "Customer type assistant",
    internalBanner: "Internal tool for agents. Never show or mention the customer type to the customer, and never refuse service or take any adverse action because of the type alone.",
    message: "Customer message", channel: "Channel", messageLang: "Message language",
    auto: "Detect automatically", analyse: "Analyse", analysing: "Analysing…",
    apiKey: "API key", apiKeyHelp: "Needed only when the server asks for one.",
    type: "Type", internalBadge: "Internal — not for the customer", confidence: "Confidence", confidenceType: "For a type: how often custtype named the right type at this level on real labelled tickets.", confidenceNone: "The model's probability that no type applies.", confidenceUndetermined: "The model's top probability: no type reached its threshold.",
    language: "Language", evidence: "Evidence in the message",
    evidenceHint: "Highlighted phrases pushed hardest toward this result.",
    evidenceToward: "For an undetermined result they argue for the closest type, which stayed below its threshold:",
    noEvidence: "No single phrase stands out.", strategy: "Strategy", openers: "Reply openers",
    copy: "Copy", copied: "Copied", copyFailed: "Copy failed",
    priority: "Priority", answerWithin: "Answer within", replyChannel: "Reply channel",
    escalate: "Escalate", yes: "yes", no: "no", minutes: "min",
    expects: "Expects", actions: "What to do", channelAdvice: "Channel", tone: "Tone",
    boundaries: "Boundaries", escalation: "Escalation", avoid: "Avoid",
    whyUndetermined: "Why undetermined:", model: "Model",
    high: "high", medium: "medium", low: "low", normal: "normal",
    written: "in writing", any: "any channel", phone: "by phone",
    needKey: "This server needs an API key: enter it below and try again.",
    failed: "The request failed:", emptyMessage: "Paste the customer's message first.",
    tooLong: "The message has {n} characters; the limit is {max}. Shorten it (for example, remove quoted earlier replies) and analyse again.",
    chars: "{n} / {max} characters",
    tabAnalyse: "Analyse a message", tabQuality: "What agents say",
    qualityTitle: "What agents say about the predictions", qualityHint: "Each prediction counted once, with the agent's latest verdict.",
    qType: "Predicted", qShown: "Shown", qConfirmed: "Confirmed", qCorrected: "Corrected to", qUnsure: "Not sure", qAgree: "Agents agree",
    qEmpty: "No predictions stored yet.",
    vwTitle: "Verdicts by week", vwCorrected: "Corrected",
    calTitle: "Confidence against agents", calHint: "Of the predictions agents confirmed or corrected: how often they agreed, by their confidence (for a type: how often its level was right on real labelled tickets).",
    calBand: "Confidence", calAnswered: "Answered", weeksTitle: "Type mix by week", week: "Week",
    automation: "Automation", feedbackAsk: "Is the type right?", fbConfirm: "Yes", fbCorrectTo: "No, it is",
    fbCorrect: "Correct it", fbUnsure: "Not sure", agentId: "Your agent id",
    fbNeedAgent: "Enter your agent id first.", fbThanks: "Thank you: saved ({verdict}).",
    fbOff: "Feedback is off on this server.",
    actions_: {off: "off", suggest: "suggestion only", preselect: "tag preselected", auto_tag: "tagged automatically"},
    rules: {public_exposure: "public exposure", legal_appeal: "legal appeal", repeat_contact: "repeat contact",
      phone_to_written: "confirm in writing", written_channel: "written channel"},
    channels: {phone: "Phone", call_transcript: "Call transcript", chat: "Chat", messenger: "Messenger",
      email: "E-mail", contact_form: "Contact form", letter: "Letter", social: "Social media",
      review: "Review", other: "Other"},
  },
  ru: {
    title: "Помощник: тип клиента",
    internalBanner: "Внутренний инструмент для сотрудников. Никогда не показывайте и не называйте клиенту его тип; тип сам по себе не может быть причиной отказа в обслуживании или любых неблагоприятных для клиента действий.",
    message: "Сообщение клиента", channel: "Канал", messageLang: "Язык сообщения",
    auto: "Определить автоматически", analyse: "Анализировать", analysing: "Анализ…",
    apiKey: "API-ключ", apiKeyHelp: "Нужен, только если сервер его требует.",
    type: "Тип", internalBadge: "Внутреннее — не для клиента", confidence: "Уверенность", confidenceType: "Для типа: как часто custtype называл верный тип на этом уровне на реальных размеченных обращениях.", confidenceNone: "Вероятность модели, что ни один тип не подходит.", confidenceUndetermined: "Наибольшая вероятность модели: ни один тип не достиг порога.",
    language: "Язык", evidence: "Основания в сообщении",
    evidenceHint: "Выделенные фразы сильнее всего повлияли на результат.",
    evidenceToward: "Для неопределённого результата они говорят в пользу ближайшего типа, не достигшего порога:",
    noEvidence: "Отдельных ключевых фраз нет.", strategy: "Стратегия", openers: "Начало ответа",
    copy: "Копировать", copied: "Скопировано", copyFailed: "Не удалось скопировать",
    priority: "Приоритет", answerWithin: "Ответить в течение", replyChannel: "Канал ответа",
    escalate: "Эскалация", yes: "да", no: "нет", minutes: "мин",
    expects: "Ожидает", actions: "Что делать", channelAdvice: "Канал", tone: "Тон",
    boundaries: "Границы", escalation: "Эскалация", avoid: "Избегать",
    whyUndetermined: "Почему не определено:", model: "Модель",
    high: "высокая", medium: "средняя", low: "низкая", normal: "обычный",
    written: "письменно", any: "любой канал", phone: "по телефону",
    needKey: "Серверу нужен API-ключ: введите его ниже и повторите.",
    failed: "Запрос не выполнен:", emptyMessage: "Сначала вставьте сообщение клиента.",
    tooLong: "В сообщении {n} символов, предел — {max}. Сократите его (например, уберите процитированные прошлые письма) и запустите анализ снова.",
    chars: "{n} / {max} символов",
    tabAnalyse: "Анализ сообщения", tabQuality: "Оценки сотрудников",
    qualityTitle: "Что сотрудники говорят о прогнозах", qualityHint: "Каждый прогноз учтён один раз, с последней оценкой сотрудника.",
    qType: "Прогноз", qShown: "Показано", qConfirmed: "Подтверждено", qCorrected: "Исправлено на", qUnsure: "Не уверены", qAgree: "Согласие",
    qEmpty: "Прогнозов пока нет.",
    vwTitle: "Оценки по неделям", vwCorrected: "Исправлено",
    calTitle: "Уверенность модели и оценки сотрудников", calHint: "Из прогнозов, которые сотрудники подтвердили или исправили: как часто они согласны, по уверенности (для типа: как часто его уровень был верен на реальных размеченных обращениях).",
    calBand: "Уверенность", calAnswered: "Оценено", weeksTitle: "Доля типов по неделям", week: "Неделя",
    automation: "Автоматизация", feedbackAsk: "Тип определён верно?", fbConfirm: "Да", fbCorrectTo: "Нет, это",
    fbCorrect: "Исправить", fbUnsure: "Не уверен(а)", agentId: "Ваш ID сотрудника",
    fbNeedAgent: "Сначала введите ваш ID сотрудника.", fbThanks: "Спасибо: сохранено ({verdict}).",
    fbOff: "Обратная связь на этом сервере выключена.",
    actions_: {off: "выкл.", suggest: "только подсказка", preselect: "тег предвыбран", auto_tag: "тег поставлен автоматически"},
    rules: {public_exposure: "публичная огласка", legal_appeal: "ссылка на закон", repeat_contact: "повторное обращение",
      phone_to_written: "подтвердить письменно", written_channel: "письменный канал"},
    channels: {phone: "Телефон", call_transcript: "Расшифровка звонка", chat: "Чат", messenger: "Мессенджер",
      email: "Эл. почта", contact_form: "Форма на сайте", letter: "Письмо", social: "Соцсети",
      review: "Отзыв", other: "Другое"},
  },
  pl: {
    title: "Asystent: typ klienta",
    internalBanner: "Narzędzie wewnętrzne dla konsultantów. Nigdy nie pokazuj ani nie wymieniaj klientowi jego typu; sam typ nie może być powodem odmowy obsługi ani żadnych działań na niekorzyść klienta.",
    message: "Wiadomość klienta", channel: "Kanał", messageLang: "Język wiadomości",
    auto: "Wykryj automatycznie", analyse: "Analizuj", analysing: "Analiza…",
    apiKey: "Klucz API", apiKeyHelp: "Potrzebny tylko wtedy, gdy serwer go wymaga.",
    type: "Typ", internalBadge: "Wewnętrzne — nie dla klienta", confidence: "Pewność", confidenceType: "Dla typu: jak często custtype wskazał właściwy typ na tym poziomie w prawdziwych oznaczonych zgłoszeniach.", confidenceNone: "Prawdopodobieństwo modelu, że żaden typ nie pasuje.", confidenceUndetermined: "Najwyższe prawdopodobieństwo modelu: żaden typ nie osiągnął progu.",
    language: "Język", evidence: "Podstawy w wiadomości",
    evidenceHint: "Wyróżnione frazy najmocniej wpłynęły na wynik.",
    evidenceToward: "Przy wyniku nieustalonym przemawiają za najbliższym typem, który nie osiągnął progu:",
    noEvidence: "Żadna fraza się nie wyróżnia.", strategy: "Strategia", openers: "Początek odpowiedzi",
    copy: "Kopiuj", copied: "Skopiowano", copyFailed: "Nie udało się skopiować",
    priority: "Priorytet", answerWithin: "Odpowiedz w ciągu", replyChannel: "Kanał odpowiedzi",
    escalate: "Eskalacja", yes: "tak", no: "nie", minutes: "min",
    expects: "Oczekuje", actions: "Co robić", channelAdvice: "Kanał", tone: "Ton",
    boundaries: "Granice", escalation: "Eskalacja", avoid: "Unikaj",
    whyUndetermined: "Dlaczego nie ustalono:", model: "Model",
    high: "wysoka", medium: "średnia", low: "niska", normal: "normalny",
    written: "na piśmie", any: "dowolny kanał", phone: "telefonicznie",
    needKey: "Serwer wymaga klucza API: wpisz go poniżej i spróbuj ponownie.",
    failed: "Żądanie nie powiodło się:", emptyMessage: "Najpierw wklej wiadomość klienta.",
    tooLong: "Wiadomość ma {n} znaków; limit to {max}. Skróć ją (np. usuń cytowane wcześniejsze odpowiedzi) i uruchom analizę ponownie.",
    chars: "{n} / {max} znaków",
    tabAnalyse: "Analiza wiadomości", tabQuality: "Oceny konsultantów",
    qualityTitle: "Co konsultanci mówią o prognozach", qualityHint: "Każda prognoza liczona raz, z ostatnią oceną konsultanta.",
    qType: "Prognoza", qShown: "Pokazano", qConfirmed: "Potwierdzono", qCorrected: "Poprawiono na", qUnsure: "Niepewne", qAgree: "Zgodność",
    qEmpty: "Brak zapisanych prognoz.",
    vwTitle: "Oceny w tygodniach", vwCorrected: "Poprawiono",
    calTitle: "Pewność modelu a oceny konsultantów", calHint: "Z prognoz potwierdzonych lub poprawionych przez konsultantów: jak często się zgadzają, według pewności (dla typu: jak często jego poziom był trafny w prawdziwych oznaczonych zgłoszeniach).",
    calBand: "Pewność", calAnswered: "Ocenione", weeksTitle: "Udział typów w tygodniach", week: "Tydzień",
    automation: "Automatyzacja", feedbackAsk: "Czy typ jest trafny?", fbConfirm: "Tak", fbCorrectTo: "Nie, to",
    fbCorrect: "Popraw", fbUnsure: "Nie wiem", agentId: "Twój identyfikator konsultanta",
    fbNeedAgent: "Najpierw wpisz swój identyfikator konsultanta.", fbThanks: "Dziękujemy: zapisano ({verdict}).",
    fbOff: "Informacja zwrotna jest na tym serwerze wyłączona.",
    actions_: {off: "wył.", suggest: "tylko podpowiedź", preselect: "tag wstępnie wybrany", auto_tag: "tag nadany automatycznie"},
    rules: {public_exposure: "rozgłos publiczny", legal_appeal: "powołanie na prawo", repeat_contact: "ponowny kontakt",
      phone_to_written: "potwierdź na piśmie", written_channel: "kanał pisemny"},
    channels: {phone: "Telefon", call_transcript: "Zapis rozmowy", chat: "Czat", messenger: "Komunikator",
      email: "E-mail", contact_form: "Formularz kontaktowy", letter: "List", social: "Media społecznościowe",
      review: "Opinia", other: "Inny"},
  },
};
const LANGS = ["ru", "pl", "en"];
const CHANNELS = ["chat", "email", "phone", "call_transcript", "messenger", "contact_form", "letter", "social", "review", "other"];

const state = {lang: initialLang(), types: null, last: null, lastRequest: null};
const $ = (id) => document.getElementById(id);

function initialLang() {
  const saved = localStorage.getItem("custtype.lang");
  if (LANGS.includes(saved)) return saved;
  const nav = (navigator.language || "en").slice(0, 2).toLowerCase();
  return LANGS.includes(nav) ? nav : "en";
}

function t(key) { return UI[state.lang][key] ?? UI.en[key] ?? key; }

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (cls) node.className = cls;
  return node;
}

function applyLanguage() {
  document.documentElement.lang = state.lang;
  document.querySelectorAll("[data-i18n]").forEach((node) => { node.textContent = t(node.dataset.i18n); });
  document.querySelectorAll(".lang").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.lang === state.lang)));
  const select = $("channel");
  const chosen = select.value || "chat";
  select.replaceChildren(...CHANNELS.map((c) => {
    const option = el("option", t("channels")[c]);
    option.value = c;
    return option;
  }));
  select.value = chosen;
  if (state.last) render(state.last, state.lastRequest.text);
}

function headers() {
  const h = {"Content-Type": "application/json"};
  const key = sessionStorage.getItem("custtype.key");
  if (key) h["X-API-Key"] = key;
  return h;
}

async function call(method, path, body) {
  const response = await fetch(path, {method, headers: headers(), body: body ? JSON.stringify(body) : undefined});
  let data = null;
  try { data = await response.json(); } catch (_) { data = null; }
  if (!response.ok) {
    const error = new Error(data && data.detail ? data.detail : `HTTP ${response.status}`);
    error.status = response.status;
    throw error;
  }
  return data;
}

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = !message;
}

async function loadTypes() {
  try { state.types = await call("GET", "/v1/types"); } catch (_) { state.types = null; }
}

function typeName(result) {
  const names = state.types;
  if (result.outcome === "type") {
    const found = names && names.types.find((x) => x.key === result.type);
    return found ? found.names[state.lang] : result.strategy.type_name;
  }
  if (names) return names[result.outcome][state.lang];
  return result.outcome;
}

/** Split the message into text nodes and <mark>s at the evidence spans (code-point offsets). */
function highlight(container, text, evidence) {
  const chars = Array.from(text); // Python offsets count code points, not UTF-16 units
  const spans = evidence
    .filter((e) => Number.isInteger(e.start) && Number.isInteger(e.end) && e.start >= 0 && e.end <= chars.length && e.start < e.end)
    .sort((a, b) => a.start - b.start);
  const parts = [];
  let pos = 0;
  for (const span of spans) {
    if (span.start < pos) continue;
    if (span.start > pos) parts.push(document.createTextNode(chars.slice(pos, span.start).join("")));
    const mark = el("mark", chars.slice(span.start, span.end).join(""));
    if (span.cues && span.cues.length) mark.title = span.cues.join(", ");
    parts.push(mark);
    pos = span.end;
  }
  if (pos < chars.length) parts.push(document.createTextNode(chars.slice(pos).join("")));
  container.replaceChildren(...parts);
}

function copyButton(text) {
  const button = el("button", t("copy"), "copy");
  button.type = "button";
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(text);
      button.textContent = t("copied");
      button.classList.add("done");
    } catch (_) {
      button.textContent = t("copyFailed");
    }
    setTimeout(() => { button.textContent = t("copy"); button.classList.remove("done"); }, 2000);
  });
  return button;
}

function fact(list, label, value, cls) {
  list.append(el("dt", label), el("dd", value, cls));
}

function section(parent, label, items) {
  if (!items || !items.length) return;
  parent.append(el("h3", label));
  const list = el("ul");
  items.forEach((item) => list.append(el("li", item)));
  parent.append(list);
}

function renderStrategy(rec) {
  const s = rec.strategy;
  $("strategy-notice").textContent = rec.notice;
  const facts = $("strategy-facts");
  facts.replaceChildren();
  fact(facts, t("priority"), t(rec.priority));
  fact(facts, t("answerWithin"), `${rec.target_response_minutes} ${t("minutes")}`);
  fact(facts, t("replyChannel"), t(rec.reply_channel));
  fact(facts, t("escalate"), rec.escalate ? `${t("yes")} (${rec.escalation_reasons.map((r) => t("rules")[r] || r).join(", ")})` : t("no"), rec.escalate ? "escalate" : "");
  const body = $("strategy-body");
  body.replaceChildren();
  body.append(el("h3", t("expects")), el("p", s.expects));
  section(body, t("actions"), [...rec.added_actions, ...s.actions]);
  [["channelAdvice", s.channel_advice], ["tone", s.tone], ["boundaries", s.boundaries], ["escalation", s.escalation]]
    .forEach(([key, value]) => body.append(el("h3", t(key)), el("p", value)));
  section(body, t("avoid"), s.avoid);
  const openers = $("openers");
  openers.replaceChildren(...s.openers.map((text) => {
    const item = el("li");
    item.append(el("span", text, "text"), copyButton(text));
    return item;
  }));
}

function render(result, text) {
  $("result").hidden = false;
  $("type-name").textContent = typeName(result);
  $("type-name").dataset.outcome = result.outcome;
  const pct = Math.floor(result.confidence * 100 + 1e-9); // 89.88 % is not "90 % (medium)"
  const fill = $("confidence-fill");
  fill.style.width = `${pct}%`;
  fill.className = `fill ${result.confidence_level}`;
  $("confidence-bar").setAttribute("aria-valuenow", String(pct));
  $("confidence-text").textContent = `${pct}% (${t(result.confidence_level)})`;
  const hint = { type: "confidenceType", none: "confidenceNone" }[result.outcome] || "confidenceUndetermined";
  $("confidence-text").title = t(hint);
  $("language").textContent = result.language;
  const reason = $("reason");
  reason.hidden = !result.reason;
  reason.textContent = result.reason ? `${t("whyUndetermined")} ${result.reason}` : "";
  const toward = $("evidence-toward");
  toward.hidden = !(result.outcome === "undetermined" && result.evidence.length);
  if (!toward.hidden) {
    const closest = Object.keys(result.probabilities)
      .filter((k) => k !== "none")
      .reduce((a, b) => (result.probabilities[b] > result.probabilities[a] ? b : a));
    const found = state.types && state.types.types.find((x) => x.key === closest);
    toward.textContent = `${t("evidenceToward")} ${found ? found.names[state.lang] : closest} (${closest})`;
  }
  highlight($("highlighted"), text, result.evidence);
  if (!result.evidence.length) $("highlighted").append(el("p", t("noEvidence"), "hint"));
  renderStrategy(result.strategy);
  $("model-version").textContent = `${t("model")}: ${result.model_version}`;
  $("action").textContent = (t("actions_") || {})[result.action] || result.action;
  renderFeedback(result);
}

/** The verdict buttons: shown when the server remembered the prediction (prediction_id). */
function renderFeedback(result) {
  const box = $("feedback");
  box.hidden = !result.prediction_id;
  $("fb-status").textContent = "";
  const select = $("fb-label");
  select.replaceChildren();
  const predicted = result.outcome === "type" ? result.type : result.outcome;
  const labels = state.types ? state.types.labels : [];
  labels.filter((key) => key !== predicted).forEach((key) => {
    const option = el("option", typeName({outcome: key === "none" ? "none" : "type", type: key,
      strategy: {type_name: key}}));
    option.value = key;
    select.append(option);
  });
  box.querySelectorAll("button").forEach((b) => { b.disabled = false; });
}

function labelName(key) {
  if (key === "undetermined") return typeName({outcome: "undetermined"});
  return typeName({outcome: key === "none" ? "none" : "type", type: key, strategy: {type_name: key}});
}

async function showQuality() {
  const body = $("quality-table").querySelector("tbody");
  const status = $("quality-status");
  body.replaceChildren();
  status.textContent = "";
  try {
    if (!state.types) await loadTypes();
    const summary = await call("GET", "/v1/feedback/quality");
    renderCalibration(summary.calibration);
    renderWeeks(summary.weeks);
    renderVerdictWeeks(summary.verdict_weeks);
    if (!summary.types.length) status.textContent = t("qEmpty");
    summary.types.forEach((row) => {
      const corrected = Object.entries(row.corrected).map(([k, n]) => `${labelName(k)} ${n}`).join(", ");
      const judged = row.confirmed + Object.values(row.corrected).reduce((a, b) => a + b, 0);
      const agree = judged ? `${Math.round(100 * row.confirmed / judged)}%` : "–";
      const tr = el("tr");
      [labelName(row.predicted), row.shown, row.confirmed, corrected || "–", row.unsure, agree]
        .forEach((cell) => tr.append(el("td", cell)));
      body.append(tr);
    });
  } catch (error) {
    status.textContent = error.status === 404 ? t("fbOff") : `${t("failed")} ${error.message}`;
  }
}

function percent(part, whole) { return whole ? `${Math.round(100 * part / whole)}%` : "–"; }

function renderCalibration(bins) {
  const body = $("calibration-table").querySelector("tbody");
  body.replaceChildren();
  bins.forEach((b) => {
    const tr = el("tr");
    [`${b.from.toFixed(1)}–${b.to.toFixed(1)}`, b.answered, b.confirmed, percent(b.confirmed, b.answered)]
      .forEach((cell) => tr.append(el("td", cell)));
    body.append(tr);
  });
}

function renderVerdictWeeks(weeks) {
  const body = $("verdict-weeks-table").querySelector("tbody");
  body.replaceChildren();
  weeks.forEach((w) => {
    const tr = el("tr");
    [w.week, w.confirmed, w.corrected, w.unsure, percent(w.confirmed, w.confirmed + w.corrected)]
      .forEach((cell) => tr.append(el("td", cell)));
    body.append(tr);
  });
}

function renderWeeks(weeks) {
  const table = $("weeks-table");
  const labels = [...new Set(weeks.flatMap((w) => Object.keys(w.mix)))].sort();
  const head = table.querySelector("thead tr");
  head.replaceChildren(el("th", t("week")), ...labels.map((k) => el("th", labelName(k))));
  const body = table.querySelector("tbody");
  body.replaceChildren();
  weeks.forEach((w) => {
    const total = Object.values(w.mix).reduce((a, b) => a + b, 0);
    const tr = el("tr", null);
    tr.append(el("td", w.week), ...labels.map((k) => el("td", percent(w.mix[k] || 0, total))));
    body.append(tr);
  });
}

function showTab(name) {
  $("analyse").hidden = name !== "analyse";
  $("quality").hidden = name !== "quality";
  $("tab-analyse").setAttribute("aria-pressed", String(name === "analyse"));
  $("tab-quality").setAttribute("aria-pressed", String(name === "quality"));
  if (name === "quality") showQuality();
}

async function sendFeedback(verdict) {
  const agent = $("agent-id").value.trim();
  if (!agent) { $("fb-status").textContent = t("fbNeedAgent"); $("agent-id").focus(); return; }
  localStorage.setItem("custtype.agent", agent);
  const body = {prediction_id: state.last.prediction_id, verdict, agent_id: agent, source: "page"};
  if (verdict === "correct") body.label = $("fb-label").value;
  try {
    const saved = await call("POST", "/v1/feedback", body);
    $("fb-status").textContent = t("fbThanks").replace("{verdict}", saved.label ? `${verdict}: ${saved.label}` : verdict);
    $("feedback").querySelectorAll("button").forEach((b) => { b.disabled = true; });
  } catch (error) {
    $("fb-status").textContent = error.status === 404 && !state.last.prediction_id ? t("fbOff") : `${t("failed")} ${error.message}`;
  }
}

async function classify(request) {
  const button = $("submit");
  button.disabled = true;
  button.textContent = t("analysing");
  showError("");
  try {
    if (!state.types) await loadTypes();
    const result = await call("POST", "/v1/classify", {...request, agent_lang: state.lang});
    state.last = result;
    state.lastRequest = request;
    render(result, request.text);
  } catch (error) {
    if (error.status === 401) {
      $("key-box").open = true;
      showError(t("needKey"));
    } else {
      showError(`${t("failed")} ${error.message}`);
    }
  } finally {
    button.disabled = false;
    button.textContent = t("analyse");
  }
}

const MAX_CHARS = 20000; // the API's limit, in characters (code points, as the server counts)

function charCount(text) { return [...text].length; }

function fill(template, n) {
  return template.replace("{n}", n.toLocaleString()).replace("{max}", MAX_CHARS.toLocaleString());
}

function updateCount() {
  const n = charCount($("message").value);
  const box = $("char-count");
  box.textContent = fill(t("chars"), n);
  box.classList.toggle("over", n > MAX_CHARS);
}

function onSubmit(event) {
  event.preventDefault();
  const text = $("message").value;
  if (!text.trim()) { showError(t("emptyMessage")); return; }
  const n = charCount(text);
  if (n > MAX_CHARS) { showError(fill(t("tooLong"), n)); return; } // never cut silently
  const request = {text, channel: $("channel").value};
  const lang = $("msg-lang").value;
  if (lang) request.lang = lang;
  classify(request);
}

function init() {
  $("form").addEventListener("submit", onSubmit);
  $("message").addEventListener("input", updateCount);
  $("message").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) $("form").requestSubmit();
  });
  $("tab-analyse").addEventListener("click", () => showTab("analyse"));
  $("tab-quality").addEventListener("click", () => showTab("quality"));
  $("agent-id").value = localStorage.getItem("custtype.agent") || "";
  $("fb-confirm").addEventListener("click", () => sendFeedback("confirm"));
  $("fb-correct").addEventListener("click", () => sendFeedback("correct"));
  $("fb-unsure").addEventListener("click", () => sendFeedback("unsure"));
  $("api-key").value = sessionStorage.getItem("custtype.key") || "";
  $("api-key").addEventListener("change", (e) => {
    sessionStorage.setItem("custtype.key", e.target.value.trim());
    state.types = null;
  });
  document.querySelectorAll(".lang").forEach((b) => b.addEventListener("click", () => {
    state.lang = b.dataset.lang;
    localStorage.setItem("custtype.lang", state.lang);
    applyLanguage();
    updateCount();
    if (state.lastRequest) classify(state.lastRequest); // the strategy in the agent's language
  }));
  applyLanguage();
  updateCount();
  loadTypes();
}

document.addEventListener("DOMContentLoaded", init);
