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

/* The order form's running totals: each item line's subtotal (quantity × price, the
 * product's price while the price is left empty), the items' sum, shipping and the total,
 * recomputed as lines are added, changed or marked for removal. Amounts are read and
 * written as the server does: the locale's decimal and group signs and the shop's currency
 * come from #order-totals' data attributes (templates/admin/_order_totals.html).
 */
(function ($) {
  'use strict';
  var panel = document.getElementById('order-totals');
  if (!$ || !panel || !window.Intl) {
    return;
  }
  var money = new Intl.NumberFormat(panel.getAttribute('data-lang') || undefined,
                                    {style: 'currency', currency: panel.getAttribute('data-currency')});
  var decimalSign = panel.getAttribute('data-decimal');
  var groupSign = panel.getAttribute('data-group');
  var productPrices = {};  // product id -> price, from the look-up's answers

  function amount(text) {
    text = (text || '').trim();
    if (!text) {
      return null;
    }
    // The locale's own form (1.234,5 in German), else the plain one (12.50).
    var local = text.split(groupSign).join('').split(decimalSign).join('.');
    var plain = /^-?\d+(\.\d+)?$/;
    return plain.test(local) ? Number(local) : (plain.test(text) ? Number(text) : NaN);
  }

  function show(element, value) {
    element.textContent = (value === null || isNaN(value)) ? '–' : money.format(value);
  }

  function productPrice(input) {
    var id = input ? input.value : '';
    if (!id) {
      return null;
    }
    if (productPrices[id] !== undefined) {
      return productPrices[id];
    }
    var initial = null;
    try {
      initial = JSON.parse(input.getAttribute('data-json') || 'null');
    } catch (ignored) {
      initial = null;
    }
    return (initial && String(initial[0]) === id && initial[2]) ? Number(initial[2].price) : null;
  }

  function lineOutput(line) {
    var output = line.querySelector('output.line-subtotal');
    if (!output) {
      var priceInput = line.querySelector('input[name$="-price"]');
      if (!priceInput) {
        return null;
      }
      output = document.createElement('output');
      output.className = 'line-subtotal d-block small text-muted mt-1';
      output.setAttribute('aria-label', panel.getAttribute('data-line-label'));
      priceInput.parentNode.appendChild(output);
    }
    return output;
  }

  function recompute() {
    var items = 0;
    var known = true;
    var lines = document.querySelectorAll('#items > .inline-field-list > .inline-field');
    Array.prototype.forEach.call(lines, function (line) {
      var quantityInput = line.querySelector('input[name$="-quantity"]');
      var removed = line.querySelector('input[type="checkbox"][name^="del-"]');
      var output = lineOutput(line);
      if (!quantityInput || !output) {
        return;
      }
      var quantity = amount(quantityInput.value);
      var price = amount(line.querySelector('input[name$="-price"]').value);
      if (price === null) {
        price = productPrice(line.querySelector('input[name$="-product"]'));
      }
      var subtotal = (quantity === null || price === null) ? NaN : Math.round(quantity * price * 100) / 100;
      show(output, subtotal);
      if (removed && removed.checked) {
        return;
      }
      if (isNaN(subtotal)) {
        // A line without a product yet does not count; one whose amount is unreadable does.
        known = known && !line.querySelector('input[name$="-product"]').value;
        return;
      }
      items += subtotal;
    });
    var shippingInput = document.getElementById('shipping_fee');
    var shipping = shippingInput ? amount(shippingInput.value) : 0;
    show(document.getElementById('order-items-total'), known ? items : NaN);
    show(document.getElementById('order-shipping-total'), shipping === null ? 0 : shipping);
    show(document.getElementById('order-total'),
         known && !isNaN(shipping) ? Math.round((items + (shipping || 0)) * 100) / 100 : NaN);
  }

  $(document).ajaxSuccess(function (event, xhr, settings, data) {
    if (!settings.url || settings.url.indexOf('/ajax/lookup/') === -1 || !$.isArray(data)) {
      return;
    }
    data.forEach(function (suggestion) {
      if (suggestion && suggestion[2] && suggestion[2].price !== undefined) {
        productPrices[String(suggestion[0])] = Number(suggestion[2].price);
      }
    });
  });
  var form = panel.parentNode.querySelector('form.admin-form') || document;
  $(form).on('input change', recompute);
  // Flask-Admin's form.js adds and removes lines on these clicks, after this handler runs.
  $(form).on('click', '.inline-field > a.btn[id$="-button"], .inline-remove-field', function () {
    window.setTimeout(recompute, 0);
  });
  recompute();
})(window.jQuery);
