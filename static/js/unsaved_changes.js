/* Model forms: leaving a changed form asks first (the browser's own "Leave site?"
 * prompt), so unsaved changes are not lost without a word. Saving the form does not ask.
 * Loaded as an external script (the Content-Security-Policy allows no inline scripts).
 */
(function () {
  'use strict';
  var form = document.querySelector('form.admin-form');
  if (!form) {
    return;
  }
  var changed = false;
  function markChanged() {
    changed = true;
  }
  form.addEventListener('input', markChanged);
  form.addEventListener('change', markChanged);
  // select2 and the inline "Add" button change the form without an input event on it.
  if (window.jQuery) {
    window.jQuery(form).on('change select2:select select2:unselect', markChanged);
    window.jQuery(form).on('click', '.inline-field > a.btn[id$="-button"], .inline-remove-field', markChanged);
  }
  form.addEventListener('submit', function () {
    changed = false;
  });
  window.addEventListener('beforeunload', function (event) {
    if (!changed) {
      return undefined;
    }
    event.preventDefault();
    event.returnValue = '';
    return '';
  });
})();
