"""Signals other apps listen to: `import_finished` is sent after an import wrote data (a real run
that succeeded, or a skip-mode run that was cancelled after writing whole chunks). Receivers get
`job` (the ImportJob); e.g. kehu.identity queues a duplicate scan for customer imports."""

from django.dispatch import Signal

import_finished = Signal()
