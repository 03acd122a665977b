// The staff pages work without this file; it only moves focus to the error summary after a failed
// submit, as GOV.UK's pattern does, so keyboard and screen-reader users land on what went wrong.
document.addEventListener("DOMContentLoaded", function () {
  var summary = document.getElementById("error-summary");
  if (summary) {
    summary.focus();
  }
});
