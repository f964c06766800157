"""intake's rules: pure Python, no I/O (the use cases load and save, the routes speak HTTP).

- ``cases.py``: a case (办件) through the six kinds, the one-time notice, the public lookup rule;
  the per-kind rules come from the one table in ``contracts/kinds.py``;
- ``catalog.py``: window units and versioned approval items (事项目录);
- ``consultations.py``: consultations under first-inquiry responsibility (首问负责), a referred
  one followed until it is answered, the counts per first-inquiry staff member;
- ``leads.py``: 领办代办 (a staff member takes charge of a case), the unit(s) holding a case now;
- ``ratings.py``: the once-only rating (好差评) and the rectification task (整改);
- ``volume.py``: monthly volume per unit and the "should enter but don't" (应进不进) flag;
- ``identifiers.py``: resident ID numbers, credit codes, mobile numbers (python-stdnum,
  phonenumbers), refused with zh-CN reasons;
- ``access.py``: who may do what.

Refusals are the runtime's :mod:`services.runtime.errors` (status, field, zh-CN reason).
"""
