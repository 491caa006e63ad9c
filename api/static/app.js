// Tolmach's page: translation while typing, and files with a live progress bar.
// Plain browser JavaScript, no build step and no CDN. Inside Telegram (a Mini App) it
// signs its calls with Telegram's initData and follows Telegram's theme.
"use strict";

const STRINGS = {
  en: {
    text: "Text", files: "Files", from: "From", to: "To", swap: "Swap", search: "Search",
    html: "Formatted (HTML)", type: "Type or paste text", copy: "Copy", copied: "Copied",
    auto: "Detect language", detected: "Detected: {name}", drop: "Drop a file here, or choose one",
    formats: "Formats: {formats}; up to {mb} MB.", cancel: "Cancel", download: "Download {name}",
    send: "Send to chat", sent: "Sent to your chat", queued: "Queued…",
    progress: "Translating… {done} of {total}", done: "Done",
    tooLong: "The text is too long: {length} characters, the limit is {limit}.",
    unknownFormat: "“{name}”: unknown file format. I know: {formats}.",
    tooBig: "“{name}” is too big: {size} MB, the limit is {mb} MB.",
    empty: "“{name}” is empty.", failed: "Translation failed: {message}",
    unavailable: "The translation service is unavailable right now. Try again later.",
    cancelled: "The translation was cancelled.",
    binary: "“{name}” is not a text file: it holds binary data.",
    corrupt: "“{name}” is damaged or not a valid file of its format.",
    encrypted: "“{name}” is encrypted. Send a copy without a password.",
    unsupported_pair: "There is no model for this pair of languages.",
  },
  ru: {
    text: "Текст", files: "Файлы", from: "С языка", to: "На язык", swap: "Поменять",
    search: "Поиск", html: "С форматированием (HTML)", type: "Введите или вставьте текст",
    copy: "Копировать", copied: "Скопировано", auto: "Определить язык",
    detected: "Определён: {name}", drop: "Перетащите файл сюда или выберите его",
    formats: "Форматы: {formats}; до {mb} МБ.", cancel: "Отмена", download: "Скачать {name}",
    send: "Отправить в чат", sent: "Отправлено в ваш чат", queued: "В очереди…",
    progress: "Перевожу… {done} из {total}", done: "Готово",
    tooLong: "Текст слишком длинный: {length} символов, предел — {limit}.",
    unknownFormat: "«{name}»: неизвестный формат файла. Я знаю: {formats}.",
    tooBig: "«{name}» слишком большой: {size} МБ, предел — {mb} МБ.",
    empty: "«{name}» пустой.", failed: "Перевод не удался: {message}",
    unavailable: "Сервис перевода сейчас недоступен. Попробуйте позже.",
    cancelled: "Перевод отменён.",
    binary: "«{name}» не текстовый файл: в нём двоичные данные.",
    corrupt: "«{name}» повреждён или не является файлом своего формата.",
    encrypted: "«{name}» зашифрован. Пришлите копию без пароля.",
    unsupported_pair: "Для этой пары языков нет модели.",
  },
};
// Used when no worker has published the deployment's pairs yet (a hub MODEL_TEMPLATE).
const COMMON = ["en", "ru", "de", "fr", "es", "it", "pt", "uk", "pl", "tr", "zh", "ja"];
const DEBOUNCE_MS = 400;

const $ = (id) => document.getElementById(id);
const state = {
  ui: "en", config: { char_limit: 5000, formats: [], max_file_bytes: 50 * 1048576 }, languages: COMMON,
  targets: {}, sequence: 0, timer: 0, detected: null, job: null, events: null,
  telegram: null, initData: "",
};

function t(key, values = {}) {
  const text = (STRINGS[state.ui] || STRINGS.en)[key] || STRINGS.en[key] || key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));
}

function languageName(code) {
  try {
    return new Intl.DisplayNames([state.ui], { type: "language" }).of(code) || code;
  } catch {
    return code;
  }
}

// A URL the browser fetches by itself (a stream, a download link) sends no headers:
// inside Telegram it carries initData in the query, so the server knows whose job it is.
function signed(url) {
  if (!state.initData) return url;
  return `${url}${url.includes("?") ? "&" : "?"}init_data=${encodeURIComponent(state.initData)}`;
}

function headers(json = false) {
  const found = json ? { "Content-Type": "application/json" } : {};
  if (state.initData) found["X-Telegram-Init-Data"] = state.initData;
  return found;
}

// --- the UI language ------------------------------------------------------------------

function pickUi() {
  const saved = localStorage.getItem("tolmach.ui");
  const telegram = state.telegram?.initDataUnsafe?.user?.language_code;
  const wanted = saved || telegram || navigator.language || "en";
  state.ui = wanted.toLowerCase().startsWith("ru") ? "ru" : "en";
}

function applyUi() {
  document.documentElement.lang = state.ui;
  for (const node of document.querySelectorAll("[data-i18n]")) {
    node.textContent = t(node.dataset.i18n, { name: "" }).trim();
  }
  for (const node of document.querySelectorAll("[data-i18n-placeholder]")) {
    node.placeholder = t(node.dataset.i18nPlaceholder);
  }
  for (const node of document.querySelectorAll("[data-i18n-label]")) {
    node.setAttribute("aria-label", t(node.dataset.i18nLabel));
  }
  $("ui-language").textContent = state.ui === "ru" ? "EN" : "RU";
  if (state.job?.done) $("download").textContent = t("download", { name: state.job.done });
  const formats = state.config.formats.map((f) => f.replace(".", "")).join(", ");
  $("formats").textContent = t("formats", { formats, mb: megabytes(state.config.max_file_bytes) });
  fillPickers();
  showCount();
  showDetected();
}

// --- language pickers -----------------------------------------------------------------

function option(code, label) {
  const node = document.createElement("option");
  node.value = code;
  node.textContent = label;
  return node;
}

function fillPickers() {
  const source = $("source"), target = $("target");
  const keepSource = source.value || "auto", keepTarget = target.value || defaultTarget();
  const sorted = [...state.languages].sort((a, b) =>
    languageName(a).localeCompare(languageName(b), state.ui));
  source.replaceChildren(option("auto", t("auto")), ...sorted.map((c) => option(c, languageName(c))));
  const filter = $("target-filter").value.trim().toLowerCase();
  const shown = sorted.filter((c) =>
    !filter || c.startsWith(filter) || languageName(c).toLowerCase().includes(filter));
  // The chosen target stays in the list while a search hides the rest: it never changes
  // under the user's hands.
  if (keepTarget && !shown.includes(keepTarget)) shown.unshift(keepTarget);
  target.replaceChildren(...shown.map((c) => option(c, languageName(c))));
  source.value = keepSource;
  target.value = keepTarget;
}

function defaultTarget() {
  const wanted = state.preferred || (navigator.language || "en").slice(0, 2);
  return state.languages.includes(wanted) ? wanted : state.languages[0];
}

// --- text -----------------------------------------------------------------------------

function characters(text) {
  return [...text].length;  // code points, as the server counts them
}

function showCount() {
  const length = characters($("input").value), limit = state.config.char_limit;
  $("count").textContent = `${length} / ${limit}`;
  $("count").classList.toggle("error", length > limit);
}

function showDetected() {
  const shown = $("source").value === "auto" && state.detected;
  $("detected").textContent = shown ? t("detected", { name: languageName(state.detected) }) : "";
}

function scheduleTranslation() {
  showCount();
  clearTimeout(state.timer);
  state.timer = setTimeout(translate, DEBOUNCE_MS);
}

async function translate() {
  const sequence = ++state.sequence;  // a newer request makes this one's answer stale
  const text = $("input").value, limit = state.config.char_limit;
  $("text-error").textContent = "";
  if (!text.trim()) {
    $("output").value = "";
    state.detected = null;
    showDetected();
    return;
  }
  if (characters(text) > limit) {
    $("text-error").textContent = t("tooLong", { length: characters(text), limit });
    return;
  }
  if (!$("target").value) return;
  const body = {
    texts: [text], source_lang: $("source").value, target_langs: [$("target").value],
    priority: "high", format: $("html").checked ? "html" : "text",
  };
  try {
    const accepted = await fetch("/api/translate_async", {
      method: "POST", headers: headers(true), body: JSON.stringify(body),
    });
    if (!accepted.ok) throw new Error(await reason(accepted));
    const { task_id: taskId } = await accepted.json();
    let status;
    do {
      if (sequence !== state.sequence) return;  // the user typed on: a newer one is coming
      const answer = await fetch(`/api/result/${taskId}?wait=30`, { headers: headers() });
      if (!answer.ok) throw new Error(await reason(answer));
      status = await answer.json();
    } while (status.status !== "completed" && status.status !== "failed");
    if (sequence !== state.sequence) return;
    if (status.status === "failed") throw new Error(status.error.message);
    $("output").value = status.result.translations[body.target_langs[0]][0];
    state.detected = body.source_lang === "auto" ? status.result.source_lang : null;
    showDetected();
    state.telegram?.HapticFeedback?.impactOccurred("light");
  } catch (error) {
    if (sequence === state.sequence) $("text-error").textContent = String(error.message || error);
  }
}

async function reason(response) {
  try {
    const body = await response.json();
    const detail = body.detail ?? body.error;
    return typeof detail === "string" ? detail : JSON.stringify(detail);
  } catch {
    return t("unavailable");
  }
}

function swap() {
  const source = $("source"), target = $("target");
  const from = source.value === "auto" ? state.detected : source.value;
  if (!from || !state.languages.includes(from) || !target.value) return;
  const to = target.value;
  source.value = to;
  $("target-filter").value = "";
  fillPickers();  // every language listed again, so the old source can be the target
  target.value = from;
  const translated = $("output").value;
  if (translated) {  // the other way round: the translation becomes the text
    $("input").value = translated;
    $("output").value = "";
  }
  scheduleTranslation();
}

async function copy() {
  const text = $("output").value;
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const area = document.createElement("textarea");
    area.value = text;
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
  $("copy").textContent = t("copied");
  setTimeout(() => { $("copy").textContent = t("copy"); }, 1500);
}

// --- files ----------------------------------------------------------------------------

function translatedName(name, target) {
  // The bot's rule: report.docx into Russian is report.ru.docx.
  const dot = name.lastIndexOf(".");
  return dot > 0 ? `${name.slice(0, dot)}.${target}${name.slice(dot)}` : `${name}.${target}`;
}

function megabytes(bytes) {
  const mb = bytes / 1048576;
  return mb >= 10 ? mb.toFixed(0) : mb.toFixed(1);
}

function refusal(file) {
  const name = file.name, dot = name.lastIndexOf(".");
  const extension = dot >= 0 ? name.slice(dot).toLowerCase() : "";
  const formats = state.config.formats.map((f) => f.replace(".", "")).join(", ");
  if (!state.config.formats.includes(extension)) return t("unknownFormat", { name, formats });
  const limit = state.config.max_file_bytes;
  if (file.size > limit) {
    return t("tooBig", { name, size: megabytes(file.size), mb: megabytes(limit) });
  }
  if (file.size === 0) return t("empty", { name });
  return null;
}

async function upload(file) {
  $("file-error").textContent = "";
  const refused = refusal(file);
  if (refused) {
    $("file-error").textContent = refused;
    return;
  }
  const form = new FormData();
  form.append("file", file);
  form.append("source_lang", $("source").value);
  form.append("target_lang", $("target").value);
  const response = await fetch("/api/translate_file_async", {
    method: "POST", headers: headers(), body: form,
  }).catch(() => null);
  if (!response || !response.ok) {
    $("file-error").textContent = response ? await reason(response) : t("unavailable");
    return;
  }
  const { task_id: taskId } = await response.json();
  state.job = { id: taskId, name: file.name, target: $("target").value };
  $("job").hidden = false;
  $("job-name").textContent = file.name;
  $("progress").value = 0;
  $("job-status").textContent = t("queued");
  $("download").hidden = true;
  $("send").hidden = true;
  $("cancel").hidden = false;
  follow(taskId);
}

function follow(taskId) {
  state.events?.close();
  const events = new EventSource(signed(`/api/result/${taskId}/events`));
  state.events = events;
  events.onmessage = (message) => {
    const status = JSON.parse(message.data);
    if (!status) {  // expired meanwhile
      events.close();
      failed({ code: "failed", message: "the job is gone" });
      return;
    }
    if (status.status === "progress") {
      const { done, total } = status.progress;
      $("progress").value = total ? Math.round((100 * done) / total) : 0;
      $("job-status").textContent = t("progress", { done, total });
    } else if (status.status === "completed") {
      events.close();
      finished(status.result);
    } else if (status.status === "failed") {
      events.close();
      failed(status.error);
    }
  };
  events.onerror = () => {
    // The stream ends after its last event; a broken one is picked up by asking once.
    if (events.readyState === EventSource.CLOSED && state.job?.id === taskId) {
      fetch(`/api/result/${taskId}`)
        .then((r) => (r.ok ? r.json() : Promise.reject(new Error(String(r.status)))))
        .then((status) => {
          if (status.status === "completed") finished(status.result);
          else if (status.status === "failed") failed(status.error);
          else follow(taskId);  // the stream broke early: listen again
        })
        .catch(() => failed({ code: "failed", message: t("unavailable") }));
    }
  };
}

function finished(result) {
  const name = result.file_name || translatedName(state.job.name, state.job.target);
  $("progress").value = 100;
  $("job-status").textContent = t("done");
  $("cancel").hidden = true;
  const link = $("download");
  link.href = signed(result.download_url);
  link.download = name;
  link.textContent = t("download", { name });
  link.hidden = false;
  state.job.done = name;
  $("send").hidden = !state.initData;
  const main = state.telegram?.MainButton;
  if (main) {  // inside Telegram, its own button sends the file to the chat
    main.setText(t("send"));
    main.onClick(sendToChat);
    main.show();
  }
  state.telegram?.HapticFeedback?.notificationOccurred("success");
}

function failed(error) {
  $("cancel").hidden = true;
  $("job-status").textContent = "";
  const name = state.job?.name || "";
  const known = STRINGS.en[error.code] ? t(error.code, { name }) : null;
  $("file-error").textContent = known || t("failed", { message: error.message });
}

async function cancel() {
  if (!state.job) return;
  await fetch(`/api/result/${state.job.id}/cancel`, { method: "POST", headers: headers() });
}

async function sendToChat() {
  const response = await fetch(`/api/file/${state.job.id}/send`, {
    method: "POST", headers: headers(),
  });
  $("job-status").textContent = response.ok ? t("sent") : await reason(response);
}

// --- Telegram -------------------------------------------------------------------------

function insideTelegram() {
  return location.hash.includes("tgWebAppData") || location.search.includes("tgWebAppData");
}

function loadTelegram() {
  // Only inside Telegram: its script comes from telegram.org, which a page opened in a
  // browser (or offline) does not need.
  if (!insideTelegram()) return Promise.resolve(null);
  return new Promise((resolve) => {
    const script = document.createElement("script");
    script.src = "https://telegram.org/js/telegram-web-app.js";
    script.onload = () => resolve(window.Telegram?.WebApp || null);
    script.onerror = () => resolve(null);
    setTimeout(() => resolve(null), 5000);  // unreachable: the page works without it
    document.head.append(script);
  });
}

function followTelegramTheme(app) {
  document.documentElement.dataset.scheme = app.colorScheme || "";
  const theme = app.themeParams || {};
  const root = document.documentElement.style;
  const pairs = { bg_color: "--bg", text_color: "--fg", hint_color: "--muted",
    button_color: "--accent", button_text_color: "--accent-fg",
    secondary_bg_color: "--field" };
  for (const [key, variable] of Object.entries(pairs)) {
    if (theme[key]) root.setProperty(variable, theme[key]);
  }
}

async function signIn() {
  const app = await loadTelegram();
  if (!app || !app.initData) return;
  state.telegram = app;
  state.initData = app.initData;
  app.ready();
  app.expand();
  followTelegramTheme(app);
  app.onEvent?.("themeChanged", () => followTelegramTheme(app));
  const me = await fetch("/api/web/me", { headers: headers() });
  if (me.ok) state.preferred = (await me.json()).target;
}

// --- start ----------------------------------------------------------------------------

async function start() {
  await signIn();
  pickUi();
  const [config, languages] = await Promise.all([
    fetch("/api/web/config").then((r) => r.json()).catch(() => state.config),
    fetch("/languages").then((r) => r.json()).catch(() => []),
  ]);
  state.config = config;
  if (languages.length) state.languages = languages.map((l) => l.code);
  applyUi();
  $("target").value = defaultTarget();
  $("input").addEventListener("input", scheduleTranslation);
  $("source").addEventListener("change", scheduleTranslation);
  $("target").addEventListener("change", scheduleTranslation);
  $("html").addEventListener("change", scheduleTranslation);
  $("target-filter").addEventListener("input", fillPickers);
  $("swap").addEventListener("click", swap);
  $("copy").addEventListener("click", copy);
  $("cancel").addEventListener("click", cancel);
  $("send").addEventListener("click", sendToChat);
  $("ui-language").addEventListener("click", () => {
    state.ui = state.ui === "ru" ? "en" : "ru";
    localStorage.setItem("tolmach.ui", state.ui);
    applyUi();
  });
  $("file").addEventListener("change", () => {
    if ($("file").files[0]) upload($("file").files[0]);
  });
  const drop = $("drop");
  drop.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      $("file").click();
    }
  });
  drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    if (event.dataTransfer.files[0]) upload(event.dataTransfer.files[0]);
  });
  document.body.dataset.ready = "1";  // for tests and tools: the page is wired up
}

document.addEventListener("DOMContentLoaded", start);
