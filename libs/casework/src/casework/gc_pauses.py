"""Short garbage-collector pauses in the long-running processes (the relay, the services).

Why: a full collection walks every object the process tracks, and most of them are what its
start made (modules, classes, pydantic schemas, FastAPI's routes: a few hundred thousand). On
the 2-core box such a pass took 100–220 ms in the relay and the services during a run at 20
reports/s (issue 16, a `gc.callbacks` trace), and every report in flight waited for it: it was
the p99 of report → `Assigned`. `freeze_startup`, called once the process has made what it keeps,
moves those objects to the permanent generation (`gc.freeze`), where no collection looks again;
later collections walk only what was made since. What it costs: a cycle among the frozen
objects is never freed (they live as long as the process anyway).
"""

from __future__ import annotations

import gc


def freeze_startup() -> None:
    """Collect what the start left over, then leave the survivors out of later collections."""
    gc.collect()
    gc.freeze()
