"""The attendance service's use cases: one function per staff command, per terminal request, per
consumed fact and per background step. Routes (``api/``), handlers (``handlers.py``) and workers
(``workers.py``) are thin adapters over these.

A use case takes a unit of work (the background steps and the publication, which run their own
transactions, take the :class:`~services.runtime.app.Service`) and :class:`~.shared.Attendance`,
the service's shared objects (``service.state.attendance``: settings, working-day calendar,
metrics). It refuses with :mod:`services.runtime.errors` (problem+json in one place), loads from
``store``, decides with ``domain`` and emits events through the unit of work. Domain stamps
follow the suite's clock (``clock.now()``).

- ``devices.py``: terminal registration and the command queue;
- ``terminals.py``: the terminals' own requests (handshake, uploads, command poll and results);
- ``staffing.py``: staff, AB posts, weekend roster, training, leave;
- ``duty.py``: weekend coverage of a day, the duty watcher's step;
- ``reports.py``: monthly and year reports, evaluation, publication;
- ``facts.py``: the other services' facts (on-time, ratings, supervision notices);
- ``shared.py``: the shared objects.
"""
