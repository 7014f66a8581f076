// Unsent visit drafts (static/js/visit-form.js) hold health notes in this browser's storage.
// They belong to the account that typed them: signing out deletes every draft on this phone,
// and a page opened by another account deletes the drafts of everyone else. A session that
// merely expired shows no account here, so its drafts wait for the same visitor to sign in.
(function () {
  "use strict";
  var PREFIX = "eldercare-visit-draft:";
  var script = document.currentScript;
  var user = script ? script.getAttribute("data-user") : "";
  var storage;
  try {
    storage = window.localStorage;
  } catch (e) {
    return;
  }
  if (!storage) return;

  function wipe(keep) {
    var doomed = [];
    for (var i = 0; i < storage.length; i++) {
      var name = storage.key(i);
      if (name && name.indexOf(PREFIX) === 0) {
        var owner = name.slice(PREFIX.length).split(":")[0];
        if (owner !== keep) doomed.push(name);
      }
    }
    doomed.forEach(function (name) {
      storage.removeItem(name);
    });
  }

  if (user) wipe(user);
  document.querySelectorAll("form[data-sign-out]").forEach(function (form) {
    form.addEventListener("submit", function () {
      wipe(null);
    });
  });
})();
