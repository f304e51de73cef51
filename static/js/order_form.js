/* The order form: the "Ship to" lookup offers only the chosen customer's addresses.
 *
 * Flask-Admin's select2 lookups fetch /admin/order/ajax/lookup/?name=address&query=...;
 * this adds the customer picked in the "Customer" field as user_id (the server filters
 * on it), and clears the address when the customer changes. Loaded as an external script
 * (the Content-Security-Policy allows no inline scripts).
 */
(function ($) {
  'use strict';
  if (!$ || !$.ajaxPrefilter) {
    return;
  }

  function chosenCustomer() {
    var value = $('#user').val();
    return /^\d+$/.test(value || '') ? value : null;
  }

  $.ajaxPrefilter(function (options) {
    if (!options.url || options.url.indexOf('/ajax/lookup/?name=address') === -1) {
      return;
    }
    var customer = chosenCustomer();
    if (customer) {
      options.url += '&user_id=' + encodeURIComponent(customer);
    }
  });

  $(document).on('change', '#user', function () {
    var $address = $('#address');
    if ($address.length && $address.data('select2')) {
      $address.select2('val', '');
    } else {
      $address.val('');
    }
  });
})(window.jQuery);
