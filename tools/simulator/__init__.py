"""The year simulator: replays a county center's January to August through intake's HTTP API
on a compressed clock (see plan.py for the parameters, run.py for the procedure)."""
