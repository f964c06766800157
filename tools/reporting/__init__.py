"""The year-end report (年度工作总结的数据部分) computed from the suite's public events alone.

Not a service: a library the ``onewindow report`` command uses. It imports only ``contracts``
(and aiokafka to read the topics), so any county bureau subscribed to the public topics could
compute the same figures.

- :mod:`.figures` — the pure aggregation over a list of envelopes;
- :mod:`.source` — reading the public topics from the beginning with a fresh consumer;
- :mod:`.render` — the zh-CN table;
- :mod:`.compare` — two periods side by side (before/after figures) and their Markdown.
- :mod:`.document` — the year's summary as a document (Markdown and PDF, with matplotlib charts),
  laid out like the center's year-end report (``onewindow report --document PATH``).
"""

from .compare import Comparison, compare, render_markdown
from .figures import REPORT_TOPICS, MonthFigures, YearEndReport, compute

__all__ = ["REPORT_TOPICS", "Comparison", "MonthFigures", "YearEndReport", "compare", "compute", "render_markdown"]
