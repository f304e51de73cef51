/* Accessibility repairs to Flask-Admin's pages, loaded on every back-office page (an
 * external script: the Content-Security-Policy allows no inline ones).
 *
 * - select2 3.5 look-ups: the keyboard input of a look-up is named by the chosen value
 *   only (aria-labelledby), and copies the field's label when it is built, so a look-up
 *   without a <label for> (inline item lines) or added later gets no name. Each look-up's
 *   inputs are named "<field label> <chosen value>" from the field's label or aria-label,
 *   also for lines added after the page loaded.
 * - Lists on a phone show the identifying column, the main figure and the row actions;
 *   the "All columns" button shows the rest (see shop_list.html and admin_app.css).
 */
(function ($) {
  'use strict';
  if (!$) {
    return;
  }

  function fieldLabel(element) {
    var text = element.getAttribute('aria-label');
    if (!text && element.id) {
      text = $('label[for="' + element.id + '"]').first().text();
    }
    return $.trim(text || '').replace(/\s*\*$/, '');
  }

  function nameInput($input, text, alsoChosen) {
    if (!$input || !$input.length || !$input.attr('id')) {
      return;
    }
    var id = $input.attr('id');
    var $label = $('label[for="' + id + '"]');
    if (!$label.length) {
      $label = $('<label class="select2-offscreen"></label>').attr('for', id).insertBefore($input);
    }
    $label.text(text).attr('id', id + '-label');
    if (alsoChosen) {
      $input.attr('aria-labelledby', id + '-label ' + alsoChosen);
    }
  }

  function nameLookups() {
    $('input, select').each(function () {
      var select2 = $(this).data('select2');
      if (!select2) {
        return;
      }
      var text = fieldLabel(this);
      if (!text || select2.namedAs === text) {
        return;
      }
      select2.namedAs = text;
      var chosen = select2.selection && select2.selection.find('.select2-chosen').attr('id');
      nameInput(select2.focusser, text, chosen);
      nameInput(select2.search, text, null);
    });
  }

  $(function () {
    nameLookups();
    // Flask-Admin builds look-ups after this script runs and when an inline line is added.
    $(window).on('load', nameLookups);
    if (window.MutationObserver) {
      var pending = false;
      new MutationObserver(function () {
        if (!pending) {
          pending = true;
          window.setTimeout(function () { pending = false; nameLookups(); }, 0);
        }
      }).observe(document.body, {childList: true, subtree: true});
    }

    $(document).on('click', '[data-toggle-columns]', function () {
      var $table = $('#' + $(this).attr('data-toggle-columns'));
      var showing = !$table.hasClass('all-columns');
      $table.toggleClass('all-columns', showing);
      $(this).attr('aria-pressed', showing ? 'true' : 'false');
    });
  });
})(window.jQuery);
