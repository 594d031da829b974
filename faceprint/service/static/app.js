// faceprint web page: plain JavaScript, no libraries, everything served by the faceprint service itself.
"use strict";

const $ = (id) => document.getElementById(id);
const keyInput = $("api-key");
keyInput.value = sessionStorage.getItem("faceprint-key") || "";
keyInput.addEventListener("change", () => sessionStorage.setItem("faceprint-key", keyInput.value.trim()));
$("key-form").addEventListener("submit", (e) => e.preventDefault());

function headers() {
  const k = keyInput.value.trim();
  return k ? { Authorization: "Bearer " + k } : {};
}

function showError(message) {
  const el = $("error");
  el.textContent = message;
  el.hidden = !message;
}

async function call(method, path, body) {
  showError("");
  let res;
  try {
    const opts = { method, headers: headers() };
    if (body instanceof FormData) opts.body = body;
    else if (body !== undefined) { opts.body = JSON.stringify(body); opts.headers["Content-Type"] = "application/json"; }
    res = await fetch(path, opts);
  } catch (err) {
    throw new Error("The server could not be reached (" + err.message + ").");
  }
  const type = res.headers.get("content-type") || "";
  const data = type.includes("json") ? await res.json() : await res.text();
  if (!res.ok) {
    const detail = data && data.detail ? data.detail : res.statusText;
    const err = new Error(`${data && data.title ? data.title : "Error " + res.status}: ${detail}` +
      (data && data.request_id ? ` (request ${data.request_id})` : ""));
    err.problem = data;
    throw err;
  }
  return data;
}

// Run a form's action with its button disabled; errors become the page's message, never an alert.
function bind(formId, action) {
  const form = $(formId);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    form.setAttribute("aria-busy", "true");
    try { await action(form); } catch (err) { showError(err.message); } finally {
      button.disabled = false;
      form.removeAttribute("aria-busy");
    }
  });
}

function loadImage(file) {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error(`${file.name}: the browser cannot show this image`));
    img.src = URL.createObjectURL(file);
  });
}

// Draw the photo with numbered boxes; the canvas keeps the photo's aspect, at most 840 px wide.
async function drawFaces(canvas, file, faces, labels) {
  let img;
  try { img = await loadImage(file); } catch { return; }
  const scale = Math.min(1, 840 / img.naturalWidth);
  canvas.width = Math.round(img.naturalWidth * scale);
  canvas.height = Math.round(img.naturalHeight * scale);
  const ctx = canvas.getContext("2d");
  ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
  drawBoxes(ctx, faces, labels, scale);
}

function drawBoxes(ctx, faces, labels, scale) {
  // sizes follow the canvas, which CSS may show smaller than its pixels
  const px = Math.max(16, Math.round(ctx.canvas.width / 28));
  ctx.lineWidth = Math.max(3, Math.round(ctx.canvas.width / 200));
  ctx.font = `bold ${px}px system-ui, sans-serif`;
  faces.forEach((f, i) => {
    const b = Array.isArray(f.box) ? { x1: f.box[0], y1: f.box[1], x2: f.box[2], y2: f.box[3] } : f.box;
    const [x, y, w, h] = [b.x1 * scale, b.y1 * scale, (b.x2 - b.x1) * scale, (b.y2 - b.y1) * scale];
    ctx.strokeStyle = "#f0a020";
    ctx.strokeRect(x, y, w, h);
    const text = labels && labels[i] ? labels[i] : String(i + 1);
    const tw = ctx.measureText(text).width + 8;
    ctx.fillStyle = "#f0a020";
    const th = px + 8;
    ctx.fillRect(x, Math.max(0, y - th), tw, th);
    ctx.fillStyle = "#000";
    ctx.fillText(text, x + 4, Math.max(px, y - 6));
  });
}

function table(columns, rows, caption) {
  const t = document.createElement("table");
  const cap = t.createCaption();
  cap.textContent = caption;
  const head = t.createTHead().insertRow();
  columns.forEach((c) => { const th = document.createElement("th"); th.scope = "col"; th.textContent = c; head.appendChild(th); });
  const tb = t.createTBody();
  rows.forEach((r) => { const tr = tb.insertRow(); r.forEach((v) => { tr.insertCell().textContent = v; }); });
  return t;
}

const fmt = (x, n = 4) => (typeof x === "number" ? x.toFixed(n) : "—");

// -- verify ------------------------------------------------------------------------------------
bind("verify-form", async (form) => {
  const f1 = $("verify-img1").files[0], f2 = $("verify-img2").files[0];
  const fd = new FormData();
  fd.append("img1", f1);
  fd.append("img2", f2);
  $("verify-result").textContent = "Comparing…";
  let r;
  try { r = await call("POST", "/v1/verify", fd); } catch (err) { $("verify-result").textContent = ""; throw err; }
  await drawFaces($("verify-canvas1"), f1, [r.faces[0]]);
  await drawFaces($("verify-canvas2"), f2, [r.faces[1]]);
  const out = $("verify-result");
  out.replaceChildren();
  const p = document.createElement("p");
  p.id = "verify-decision";
  p.className = "decision " + (r.verified ? "same" : "different");
  p.textContent = r.verified ? "Same person" : "Different people";
  const d = document.createElement("p");
  d.id = "verify-numbers";
  d.textContent = `distance ${fmt(r.distance)} ${r.verified ? "≤" : ">"} threshold ${fmt(r.threshold)} ` +
    `(${r.metric}, model ${r.model}, detector ${r.detector})`;
  out.append(p, d);
});

// -- gallery -----------------------------------------------------------------------------------
const galleryName = () => $("gallery-name").value.trim();

bind("gallery-create-form", async () => {
  try {
    const g = await call("POST", "/v1/galleries", { name: galleryName() });
    $("gallery-result").textContent = `Gallery “${g.name}” created (${g.contract.model}, ${g.contract.metric}).`;
  } catch (err) {
    if (err.problem && err.problem.code === "gallery-exists") {
      $("gallery-result").textContent = `Gallery “${galleryName()}” already exists; enrolling adds to it.`;
    } else throw err;
  }
});

bind("enrol-form", async () => {
  const fd = new FormData();
  fd.append("identity", $("enrol-identity").value.trim());
  for (const f of $("enrol-img").files) fd.append("img", f);
  $("gallery-result").textContent = "Enrolling…";
  let r;
  try { r = await call("POST", `/v1/galleries/${encodeURIComponent(galleryName())}/faces`, fd); }
  catch (err) { $("gallery-result").textContent = ""; throw err; }
  const missing = r.no_face.length ? ` No face in: ${r.no_face.join(", ")}.` : "";
  $("gallery-result").textContent = `Enrolled ${r.faces} face(s) of ${r.identity} from ${r.images} photo(s).${missing}`;
});

// -- search ------------------------------------------------------------------------------------
bind("search-form", async () => {
  const file = $("search-img").files[0];
  const fd = new FormData();
  fd.append("img", file);
  fd.append("k", $("search-k").value || "3");
  fd.append("aggregate", "min");
  $("search-result").textContent = "Searching…";
  let r;
  try { r = await call("POST", `/v1/galleries/${encodeURIComponent(galleryName())}/search`, fd); }
  catch (err) { $("search-result").textContent = ""; throw err; }
  const faces = r.results.map((x) => x.face);
  const labels = r.results.map((x, i) => `${i + 1}: ${x.matches.length && x.matches[0].verified ? x.matches[0].identity : "unknown"}`);
  await drawFaces($("search-canvas"), file, faces, labels);
  const out = $("search-result");
  out.replaceChildren();
  r.results.forEach((x, i) => {
    const rows = x.matches.map((m, rank) => [rank + 1, m.identity, fmt(m.distance), fmt(m.threshold), m.verified ? "match" : "no match"]);
    out.appendChild(table(["rank", "identity", "distance", "threshold", "decision"], rows, `Face ${i + 1}`));
  });
  if (!r.results.length) out.textContent = "No faces.";
});

// -- analyze -----------------------------------------------------------------------------------
bind("analyze-form", async () => {
  const file = $("analyze-img").files[0];
  const fd = new FormData();
  fd.append("img", file);
  $("analyze-result").textContent = "Analyzing…";
  let r;
  try { r = await call("POST", "/v1/analyze", fd); } catch (err) { $("analyze-result").textContent = ""; throw err; }
  await drawFaces($("analyze-canvas"), file, r.faces.map((x) => x.face));
  const rows = r.faces.map((x, i) => [i + 1, x.age !== undefined ? Math.round(x.age) : "—", x.gender || "—", x.emotion || "—"]);
  $("analyze-result").replaceChildren(table(["face", "age", "gender", "emotion"], rows, `${r.faces.length} face(s)`));
});

// -- live camera -------------------------------------------------------------------------------
let live = null;

async function startLive() {
  const video = $("live-video"), canvas = $("live-canvas"), button = $("live-toggle");
  let stream;
  try { stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false }); }
  catch (err) { showError("The camera could not be opened: " + err.message); return; }
  video.srcObject = stream;
  await video.play();
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(`${proto}//${location.host}/v1/live`);
  const grab = document.createElement("canvas");
  live = { stream, ws, faces: [], frames: 0 };
  button.textContent = "Stop camera";
  button.setAttribute("aria-pressed", "true");
  const send = () => {
    if (!live || ws.readyState !== WebSocket.OPEN) return;
    grab.width = video.videoWidth; grab.height = video.videoHeight;
    grab.getContext("2d").drawImage(video, 0, 0);
    grab.toBlob((blob) => blob && ws.readyState === WebSocket.OPEN && ws.send(blob), "image/jpeg", 0.8);
  };
  // the key goes in the first message, never in the URL (which servers and proxies log)
  ws.onopen = () => ws.send(JSON.stringify({ key: keyInput.value.trim() || null, gallery: galleryName() || null }));
  ws.onmessage = (e) => {
    const msg = JSON.parse(e.data);
    if (msg.code) { showError(`${msg.title}: ${msg.detail}`); return; }
    if (msg.ready) { send(); return; }
    live.faces = msg.faces;
    live.frames = msg.frame;
    const names = msg.faces.map((f) => f.identity || "unknown");
    $("live-result").textContent = `frame ${msg.frame}: ${msg.faces.length} face(s)` + (names.length ? ` — ${names.join(", ")}` : "");
    send();  // one frame in flight at a time: the server sets the pace
  };
  ws.onerror = () => showError("The live connection failed.");
  const paint = () => {
    if (!live) return;
    canvas.width = video.videoWidth; canvas.height = video.videoHeight;
    const ctx = canvas.getContext("2d");
    ctx.drawImage(video, 0, 0);
    drawBoxes(ctx, live.faces, live.faces.map((f) => f.identity || "?"), 1);
    requestAnimationFrame(paint);
  };
  requestAnimationFrame(paint);
}

function stopLive() {
  if (!live) return;
  live.ws.close();
  live.stream.getTracks().forEach((t) => t.stop());
  live = null;
  $("live-toggle").textContent = "Start camera";
  $("live-toggle").setAttribute("aria-pressed", "false");
}

$("live-toggle").addEventListener("click", () => (live ? stopLive() : startLive()));

// -- readiness ---------------------------------------------------------------------------------
(async function status() {
  try {
    const r = await fetch("/readyz");
    $("server-status").textContent = r.ok ? "server ready" : "models loading…";
    if (!r.ok) setTimeout(status, 2000);
  } catch { $("server-status").textContent = "server unreachable"; }
})();
