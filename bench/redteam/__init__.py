"""The hostile tester, replayed: every probe class of the security review against a real
`cityos serve --auth required` on loopback.

    .venv/bin/python -m bench.redteam [--only AREA,...] [--json FILE]

Each `probes_<area>.py` module beside this one holds one class of attack as a list of
`Probe`s; each probe sends its requests through a `Target` (keys of every role, two
tenants) and says whether the server refused as it should or leaked. The command prints a
table (area, probes sent, refused, leaked) and exits 1 when anything leaked. Loopback only;
every request has a timeout, so the run ends by itself.
"""
