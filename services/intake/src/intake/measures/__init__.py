"""The measures: response, resolution and satisfaction rates, open and overdue cases, where cases
were settled, and the volunteers' service board (红黑榜) — a read model fed from the case events.

`model` keeps the rows, `definitions` says what each measure means (docs/MEASURES.md), `desk`
decides who may see which, `rebuild.rebuild` replays the store into it (and into the case index),
`text` prints it.
"""

from intake.measures.definitions import Measures, compute
from intake.measures.model import MeasuresModel

__all__ = ["Measures", "MeasuresModel", "compute"]
