"""The Faust app every busbar worker runs (`busbar worker`, or `faust -A streams.app worker`).

Faust's command line imports an app object, so this module builds one at import, from the
environment (see streams.settings); streams.worker builds it from any Settings.
"""

from __future__ import annotations

from streams.settings import Settings
from streams.worker import create_app

app = create_app(Settings.from_env())
