// regrow: small progressive enhancement. Every page works without it.
"use strict";
(function () {
  const token = () => (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  // clinic mode serves a patient's pages under /patients/<id>; the server puts that prefix on <body>
  const BASE = document.body.dataset.base || "";

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => node.setAttribute(k, v));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // --- Plan: rule findings, live while editing ---------------------------------------------------
  const planForm = document.getElementById("plan-form");
  if (planForm) {
    const live = document.getElementById("plan-live");
    let timer = null;
    const draft = () => {
      const body = {};
      // JSON types are strict: numbers (and the device id) go as numbers, times as a list
      const numeric = new Set(Array.from(planForm.querySelectorAll('input[type="number"]')).map((i) => i.name));
      numeric.add("device_id");
      new FormData(planForm).forEach((value, key) => {
        if (["csrf_token", "acknowledge", "ack_reason", "effective_from"].includes(key)) return;
        if (typeof value !== "string" || value.trim() === "") return;
        if (key === "minoxidil_times") body[key] = value.split(",").map((s) => s.trim()).filter(Boolean);
        else if (numeric.has(key) && !Number.isNaN(Number(value))) body[key] = Number(value);
        else body[key] = value.trim();
      });
      body.minoxidil = planForm.querySelector('input[name="minoxidil"]').checked;
      return body;
    };
    const show = (findings, error) => {
      live.replaceChildren();
      if (error) { live.append(el("p", { class: "error" }, error)); return; }
      if (!findings.length) { live.append(el("p", { class: "ok" }, "No findings for this draft.")); return; }
      const list = el("ul", { class: "findings" });
      findings.forEach((f) => {
        const li = el("li", { class: "sev-" + f.severity });
        li.append(el("span", { class: "badge" }, { stop: "Stop", caution: "Caution", info: "Note" }[f.severity] || f.severity), " " + f.message + " ");
        li.append(el("small", {}, "Source: " + f.source));
        list.append(li);
      });
      live.append(el("p", {}, "Findings for this draft (nothing saved yet):"), list);
    };
    const check = () => {
      fetch(planForm.dataset.check, {
        method: "POST",
        headers: { "content-type": "application/json", "x-csrf-token": token() },
        body: JSON.stringify(draft()),
        credentials: "same-origin",
      })
        .then((r) => r.json().then((j) => [r.ok, j]))
        .then(([ok, j]) => (ok ? show(j.findings) : show([], j.error ? j.error.message : "Could not check.")))
        .catch(() => show([], "Could not reach regrow to check the draft."));
    };
    planForm.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(check, 350); });
    planForm.addEventListener("change", () => { clearTimeout(timer); timer = setTimeout(check, 100); });
  }

  // --- Photos: upload one file at a time with a progress indicator ------------------------------
  const upForm = document.getElementById("upload-form");
  if (upForm && window.FormData && window.XMLHttpRequest) {
    const list = document.getElementById("upload-progress");
    const offerDuplicate = (text, name) => {
      if (upForm.querySelector('input[name="' + name + '"]')) return;
      const box = el("fieldset", { class: "ack dup" });
      box.append(el("legend", {}, "Store it anyway?"));
      const labelNode = el("label", { class: "check" });
      labelNode.append(el("input", { type: "checkbox", name: name, value: "on" }), " " + text);
      box.append(labelNode);
      upForm.querySelector(".actions").before(box);
    };
    upForm.addEventListener("submit", (event) => {
      const input = upForm.querySelector('input[type="file"]');
      if (!input.files.length) return;
      event.preventDefault();
      list.replaceChildren();
      const files = Array.from(input.files);
      const button = upForm.querySelector('button[type="submit"]');
      button.disabled = true;
      let failures = 0;
      let finished = 0;
      // one bar for the whole batch ("3 of 8 measured"), then one line per file
      const overall = el("li", { class: "overall" });
      const overallLabel = el("span", {}, "0 of " + files.length + " measured");
      const overallBar = el("progress", { max: String(files.length), value: "0", "aria-label": "Images measured" });
      overall.append(overallLabel, " ", overallBar);
      list.append(overall);
      const jobs = new Map();  // job id -> {file, label, bar, item}
      const finish = (entry, ok, text) => {
        entry.bar.remove();
        entry.label.textContent = text;
        entry.item.className = ok ? "ok" : "error";
        finished += 1;
        if (!ok) failures += 1;
        overallBar.value = finished;
        overallLabel.textContent = finished + " of " + files.length + " measured";
        if (finished < files.length) return;
        button.disabled = false;
        list.append(el("li", { class: failures ? "error" : "ok", id: "upload-done" },
          failures ? failures + " of " + files.length + " file(s) were not stored." : "All " + files.length + " image(s) measured and stored."));
        if (!failures) setTimeout(() => { window.location.href = BASE + "/photos"; }, 1500);
      };
      const failed = (entry, body, status) => {
        const error = body.error || {};
        if (error.code === "duplicate") {
          offerDuplicate(body.duplicate_label, body.confirm || "allow_duplicate");
          finish(entry, false, entry.file.name + ": " + error.message.split(" If ")[0] + " Tick '" + body.duplicate_label + "' below and upload it again if it is right.");
        } else {
          finish(entry, false, entry.file.name + ": " + (error.message || "failed (" + status + ")"));
        }
      };
      // the server measures one image at a time; ask how the jobs are doing until none is left
      const poll = () => {
        if (!jobs.size) return;
        fetch(BASE + "/api/photos/jobs?ids=" + Array.from(jobs.keys()).join(","), { credentials: "same-origin" })
          .then((r) => r.json())
          .then((body) => {
            (body.jobs || []).forEach((job) => {
              const entry = jobs.get(job.id);
              if (!entry) return;
              if (job.state === "measuring") entry.label.textContent = entry.file.name + ": measuring…";
              if (job.state === "done") {
                const m = job.measurement;
                finish(entry, true, entry.file.name + ": " + m.hair_count + " hairs counted, " + Math.round(m.density_per_cm2) + " hairs/cm²");
                jobs.delete(job.id);
              } else if (job.state === "failed") {
                failed(entry, job, job.status);
                jobs.delete(job.id);
              }
            });
          })
          .catch(() => {})
          .then(() => { if (jobs.size) setTimeout(poll, 600); });
      };
      const sendOne = (index) => {
        if (index >= files.length) { poll(); return; }
        const file = files[index];
        const item = el("li", {});
        const label = el("span", {}, file.name + ": uploading");
        const bar = el("progress", { max: "100", value: "0", "aria-label": "Upload of " + file.name });
        item.append(label, " ", bar);
        list.append(item);
        const entry = { file, label, bar, item };
        const data = new FormData();
        new FormData(upForm).forEach((value, key) => { if (key !== "files") data.append(key, value); });
        data.append("files", file, file.name);
        const xhr = new XMLHttpRequest();
        xhr.open("POST", upForm.dataset.api + "?background=true");
        xhr.setRequestHeader("x-csrf-token", token());
        xhr.upload.addEventListener("progress", (e) => {
          if (e.lengthComputable) bar.value = Math.round((100 * e.loaded) / e.total);
        });
        xhr.addEventListener("load", () => {
          let body = {};
          try { body = JSON.parse(xhr.responseText); } catch (e) { body = {}; }
          const first = (body.items && body.items[0]) || body;
          if (xhr.status === 201 && first.measurement) {  // a server that measured it at once
            const m = first.measurement;
            finish(entry, true, file.name + ": " + m.hair_count + " hairs counted, " + Math.round(m.density_per_cm2) + " hairs/cm²");
          } else if (xhr.status === 202 && first.job) {
            bar.removeAttribute("value");  // indeterminate while it waits and is measured
            label.textContent = file.name + ": waiting to be measured";
            jobs.set(first.job.id, entry);
          } else {
            failed(entry, first.error ? first : body, xhr.status);
          }
          sendOne(index + 1);
        });
        xhr.addEventListener("error", () => { finish(entry, false, file.name + ": network error"); sendOne(index + 1); });
        xhr.send(data);
      };
      sendOne(0);
    });
  }

  // --- Any page: photos still being measured in the background ------------------------------------
  const banner = document.getElementById("measuring-banner");
  if (banner) {
    const text = banner.querySelector("span");
    const check = () => {
      fetch(BASE + "/api/photos/jobs", { credentials: "same-origin" })
        .then((r) => r.json())
        .then((body) => {
          if (body.pending) {
            text.textContent = "Measuring " + body.pending + " photo" + (body.pending === 1 ? "" : "s") + " in the background…";
            setTimeout(check, 2000);
          } else {
            text.textContent = "All photos are measured.";
          }
        })
        .catch(() => {});
    };
    setTimeout(check, 2000);
  }

  // --- Data: one more confirmation before deleting everything -------------------------------------
  const del = document.getElementById("delete-form");
  if (del) {
    del.addEventListener("submit", (event) => {
      if (!window.confirm("Delete all of your data and photos? There is no undo.")) event.preventDefault();
    });
  }

  // --- Photo: tap the image to add a missed hair or remove a detection (the forms below do the same) ----
  const canvas = document.getElementById("canvas");
  const addForm = document.getElementById("add-form");
  const removeForm = document.getElementById("remove-form");
  if (canvas && addForm && removeForm) {
    const width = Number(canvas.dataset.width);
    const height = Number(canvas.dataset.height);
    const radius = Number(canvas.dataset.radius);
    const modes = document.getElementById("tap-mode");
    const status = document.getElementById("tap-status");
    modes.hidden = false;
    canvas.classList.add("tappable");
    const mode = () => (modes.querySelector('input[name="tap"]:checked') || {}).value || "add";
    const distance = (line, x, y) => {
      const ax = Number(line.getAttribute("x1")), ay = Number(line.getAttribute("y1"));
      const dx = Number(line.getAttribute("x2")) - ax, dy = Number(line.getAttribute("y2")) - ay;
      const length2 = dx * dx + dy * dy;
      const t = length2 === 0 ? 0 : Math.max(0, Math.min(1, ((x - ax) * dx + (y - ay) * dy) / length2));
      return Math.hypot(ax + t * dx - x, ay + t * dy - y);
    };
    const submit = (form, values) => {
      Object.entries(values).forEach(([name, value]) => { form.querySelector('[name="' + name + '"]').value = value; });
      if (form.requestSubmit) form.requestSubmit(); else form.submit();
    };
    canvas.addEventListener("click", (event) => {
      const rect = canvas.getBoundingClientRect();
      const x = Math.round(((event.clientX - rect.left) * width) / rect.width * 10) / 10;
      const y = Math.round(((event.clientY - rect.top) * height) / rect.height * 10) / 10;
      if (mode() === "add") { submit(addForm, { x_px: x, y_px: y }); return; }
      let best = null, bestDistance = Infinity;
      canvas.querySelectorAll("line.hair:not(.removed):not(.uncounted)").forEach((line) => {
        const d = distance(line, x, y);
        if (d < bestDistance) { best = line; bestDistance = d; }
      });
      if (!best || bestDistance > radius) {
        status.textContent = "No detection within " + Math.round(radius) + " px of that point; tap on the blue line.";
        return;
      }
      submit(removeForm, { x_px: x, y_px: y, hair_index: best.dataset.index });
    });
  }

  // --- Compare: wipe between the before photo and the lined-up after photo ---------------------------
  const wipe = document.getElementById("wipe");
  const wipeRange = document.getElementById("wipe-range");
  if (wipe && wipeRange) {
    const after = document.getElementById("wipe-after");
    const set = () => {
      const v = Number(wipeRange.value);
      after.style.clipPath = "inset(0 0 0 " + v + "%)";
      wipe.style.setProperty("--wipe", v + "%");
      wipeRange.setAttribute("aria-valuetext", v === 0 ? "all after" : v === 100 ? "all before" : v + "% before, " + (100 - v) + "% after");
    };
    wipeRange.addEventListener("input", set);
    document.getElementById("wipe-control").hidden = false;
    set();
  }

  // --- Photos: the capture guide shows the last photo of the site as a ghost over the new one ----------
  const guideFile = document.getElementById("guide-file");
  if (guideFile) {
    document.getElementById("guide-tool").hidden = false;
    const preview = document.getElementById("guide-preview");
    // the images are made when a photo is picked (an image without a source would be a broken image)
    const shot = el("img", { id: "guide-shot", alt: "Your new photo" });
    const ghost = el("img", { id: "guide-ghost", class: "ghost", alt: "The last photo of the site, see-through, to line up with" });
    const siteSelect = document.getElementById("guide-site");
    const opacity = document.getElementById("guide-opacity");
    const showGhost = () => {
      const option = siteSelect.options[siteSelect.selectedIndex];
      if (option && ghost.getAttribute("src") !== option.dataset.src) ghost.src = option.dataset.src;
      ghost.style.opacity = String(Number(opacity.value) / 100);
    };
    siteSelect.addEventListener("change", () => { if (!preview.hidden) showGhost(); });
    opacity.addEventListener("input", () => { if (!preview.hidden) showGhost(); });
    guideFile.addEventListener("change", () => {
      const file = guideFile.files[0];
      if (!file) return;
      const reader = new FileReader();
      reader.addEventListener("load", () => {
        shot.src = reader.result;
        if (!preview.firstChild) preview.append(shot, ghost);
        preview.hidden = false;
        showGhost();
      });
      reader.readAsDataURL(file);
    });
  }

  // --- Forms with errors: move focus to the first error so keyboard and screen-reader users land there --
  const firstError = document.querySelector('[aria-invalid="true"], .form-errors');
  if (firstError) firstError.focus();
})();
