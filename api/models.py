"""Every table of the service, imported in one place so the metadata is complete.

Alembic's environment and the migration drift test import this module; each domain adds one line.
"""

from api.db import Base
from api.db import models as core_models
from api.encoding import models as encoding_models
from api.learning import models as learning_models
from api.matching import models as matching_models
from api.programmes import models as programme_models
from api.providers import models as provider_models
from api.security import models as security_models
from api.web import models as web_models

__all__ = [
    "Base",
    "core_models",
    "encoding_models",
    "learning_models",
    "matching_models",
    "programme_models",
    "provider_models",
    "security_models",
    "web_models",
]
