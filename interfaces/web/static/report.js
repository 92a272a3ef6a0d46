// The report form, for comfort only (the server checks everything again): the SIREN number is
// checked as it is typed, with the words the server would use. Without this script nothing is
// lost: the same message comes back with the form.
(function () {
  "use strict";
  var field = document.getElementById("siren");
  var message = document.getElementById("siren-check");
  if (!field || !message) {
    return;
  }

  function luhn(digits) {
    var total = 0;
    for (var i = 0; i < digits.length; i++) {
      var digit = Number(digits[digits.length - 1 - i]);
      if (i % 2 === 1) {
        digit *= 2;
        if (digit > 9) {
          digit -= 9;
        }
      }
      total += digit;
    }
    return total % 10 === 0;
  }

  function say(words) {
    message.textContent = words || "";
    var described = (field.getAttribute("aria-describedby") || "").split(" ").filter(function (id) {
      return id && id !== message.id;
    });
    if (words) {
      described.push(message.id);
    }
    if (described.length) {
      field.setAttribute("aria-describedby", described.join(" "));
    } else {
      field.removeAttribute("aria-describedby");
    }
  }

  function check(leaving) {
    var digits = field.value.replace(/[\s.\-]/g, "");
    if (!digits) {
      say("");
    } else if (!/^[0-9]{9}$/.test(digits)) {
      // While typing, a number not yet whole is not wrong: it is said on leaving the field.
      if (leaving || digits.length > 9 || /[^0-9]/.test(digits)) {
        say(message.dataset.length);
      } else {
        say("");
      }
    } else {
      say(luhn(digits) ? "" : message.dataset.checksum);
    }
  }

  field.addEventListener("input", function () { check(false); });
  field.addEventListener("blur", function () { check(true); });
})();
