"""The domain packages of the back office, as Django's ``INSTALLED_APPS``: importing this
module puts every table on the metadata and every export definition in the registry
(:data:`admin_app.core.export_specs.EXPORTS`). A new domain adds its two lines here."""

from admin_app.accounts import exports as accounts_exports
from admin_app.accounts import models as accounts_models
from admin_app.accounts import two_factor_models as accounts_two_factor_models
from admin_app.audit import exports as audit_exports
from admin_app.audit import models as audit_models
from admin_app.catalog import exports as catalog_exports
from admin_app.catalog import models as catalog_models
from admin_app.catalog import stock as catalog_stock
from admin_app.content import exports as content_exports
from admin_app.content import models as content_models
from admin_app.core.export_specs import EXPORTS
from admin_app.exports import models as exports_models
from admin_app.sales import exports as sales_exports
from admin_app.sales import models as sales_models
from admin_app.sales import stock as sales_stock

MODEL_MODULES = (
    accounts_models, accounts_two_factor_models, audit_models, catalog_models, catalog_stock, content_models,
    exports_models, sales_models, sales_stock,
)
EXPORT_MODULES = (accounts_exports, audit_exports, catalog_exports, content_exports, sales_exports)

__all__ = ["EXPORTS", "EXPORT_MODULES", "MODEL_MODULES"]
