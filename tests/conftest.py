"""Shared test settings: hypothesis profiles.

The default profile keeps the suite quick on a small CI machine (no deadline: timing jitter there
is not a bug). For a long hunt run with more examples:

    HYPOTHESIS_PROFILE=thorough python -m pytest -q tests
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile("chainrule", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", parent=settings.get_profile("chainrule"), max_examples=2000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "chainrule"))
