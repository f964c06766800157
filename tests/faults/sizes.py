"""The fault tests' sizes and random seed, from the environment (docs/testing.md):
``ONEWINDOW_FAULTS_N`` applications per run (default 200, the CI size), ``ONEWINDOW_FAULTS_FULL=1``
(2,000 applications, every service killed twice), ``ONEWINDOW_FAULTS_KILL_ROUNDS``, and
``ONEWINDOW_FAULTS_SEED`` to replay a run's random choices (every run prints its seed)."""

from __future__ import annotations

import os
import random

FULL = os.environ.get("ONEWINDOW_FAULTS_FULL") == "1"
N = int(os.environ.get("ONEWINDOW_FAULTS_N") or (2000 if FULL else 200))
KILL_ROUNDS = int(os.environ.get("ONEWINDOW_FAULTS_KILL_ROUNDS") or (2 if FULL else 1))
SEED = int(os.environ.get("ONEWINDOW_FAULTS_SEED") or random.SystemRandom().randrange(1, 10**6))
