"""notify's use cases: one function per command or event, each taking a unit of work (or the
HandlerContext, which has the same ``session`` and ``emit``); ``handlers.py`` and ``api/`` are
thin adapters over them.

- ``cases``: what intake, seal and deadline tell notify (the directory, the notices an event
  causes, the seal's answers, deadline and supervision alerts);
- ``notices``: the notice saga (:class:`~.notices.Notices`, shared as ``service.state.notices``),
  its sweeps (left waiting for a contact, seal timeouts) and the staff's requests about notices;
- ``messages``: queueing and settling SMS, and the requests about messages (search, resolve,
  opt-outs, the cloud provider's receipt push);
- ``duty_gaps``: weekend duty gaps held for a duty manager (:class:`~.duty_gaps.DutyGaps`,
  ``service.state.duty_gaps``) and the staff directory that releases them;
- ``access``: which cases a member of staff may see.
"""
