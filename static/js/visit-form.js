// The visit form keeps what the visitor typed on the phone until the server has it: a draft in
// localStorage (per account and person), restored when the page opens again; the submit goes
// through fetch, so lost signal, an expired session or a refused form never wipe the entries.
// The form's client token travels with the draft: sending it twice records one visit.
(function () {
  "use strict";

  function init() {
  var form = document.getElementById("visit-form");
  var box = document.getElementById("draft-status");
  if (!form || !box || !window.localStorage) return;
  var key = "eldercare-visit-draft:" + form.getAttribute("data-draft-key");

  function say(kind, text, withSignIn) {
    box.className = "alert alert-" + kind;
    box.textContent = text;
    if (withSignIn) {
      var link = document.createElement("a");
      link.href = box.getAttribute("data-sign-in-url");
      link.className = "alert-link ms-1";
      link.textContent = box.getAttribute("data-sign-in-label");
      box.appendChild(link);
    }
    box.scrollIntoView({ block: "center" });
  }

  function read() {
    try {
      return JSON.parse(localStorage.getItem(key) || "null");
    } catch (e) {
      return null;
    }
  }

  function save() {
    var data = { _saved: new Date().toISOString() };
    new FormData(form).forEach(function (value, name) {
      if (name !== "csrf_token") data[name] = value;
    });
    try {
      localStorage.setItem(key, JSON.stringify(data));
    } catch (e) {
      /* storage full or disabled: the form still submits */
    }
  }

  function restore(draft) {
    Object.keys(draft).forEach(function (name) {
      if (name.charAt(0) === "_") return;
      var fields = form.querySelectorAll('[name="' + name + '"]');
      fields.forEach(function (field) {
        if (field.type === "radio" || field.type === "checkbox") {
          field.checked = field.value === draft[name];
        } else {
          field.value = draft[name];
        }
      });
    });
  }

  var draft = read();
  if (draft && !form.hasAttribute("data-server-errors")) {
    restore(draft);
    var when = new Date(draft._saved);
    say("info", box.getAttribute("data-restored").replace("{time}", when.toLocaleString()));
  }
  form.addEventListener("input", save);
  form.addEventListener("change", save);

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    save();
    var body = new FormData(form);
    // The button pressed says what to do (Submit, or apply corrections to the saved visit).
    var submitter = event.submitter;
    if (submitter && submitter.name) body.append(submitter.name, submitter.value);
    var button = submitter || form.querySelector('[type="submit"]');
    if (button) button.disabled = true;
    fetch(form.action, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { Accept: "text/html", "X-Visit-Form": "fetch" },
    })
      .then(function (response) {
        if (response.redirected && response.url.indexOf("/auth/login") !== -1) {
          say("warning", box.getAttribute("data-signed-out"), true);
          return;
        }
        var type = response.headers.get("Content-Type") || "";
        if (response.ok && type.indexOf("application/json") !== -1) {
          // Accepted: the server keeps its confirmation ("recorded, next due ...") for the
          // page it names, which shows it.
          return response.json().then(function (answer) {
            localStorage.removeItem(key);
            window.location.assign(answer.redirect);
          });
        }
        if (response.status === 422 || response.status === 409) {
          // The server's page with the reasons; the draft stays until it is accepted.
          return response.text().then(function (html) {
            var page = new DOMParser().parseFromString(html, "text/html");
            document.querySelector("main").replaceWith(page.querySelector("main"));
            init();
            window.scrollTo(0, 0);
          });
        }
        if (response.status === 400 || response.status === 401) {
          say("warning", box.getAttribute("data-signed-out"), true);
          return;
        }
        say("danger", box.getAttribute("data-failed"));
      })
      .catch(function () {
        say("warning", box.getAttribute("data-offline"));
      })
      .finally(function () {
        if (button) button.disabled = false;
      });
  });
  }

  init();
})();
