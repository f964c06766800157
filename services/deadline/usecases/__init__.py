"""The deadline service's use cases: one function per command or event, each taking a unit of
work (or, for the background steps that run several transactions, the service) and the
service's shared state (``service.state.deadline``, :class:`~.shared.DeadlineState`).

- ``clocks.py``: intake's case events (start, stop, resume, end) and the staff's clock commands
  and queries;
- ``calendar.py``: the working-day calendar (days, due dates, history, the admin's changes);
- ``oversight.py``: statistics, bulletins, supervision notices, random inspections;
- ``watch.py``: the background steps (cards, recomputation, library check, gauges);
- ``shared.py``: the shared state and saving a clock with its events.
"""
