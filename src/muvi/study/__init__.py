"""The web application for running a MuVi-style annotation study (as in Chua et al. 2022).

- :mod:`muvi.study.app`: the ASGI application (:func:`~muvi.study.app.create_app`),
  which wires the routers, the middleware and the error pages together;
- the routers: :mod:`muvi.study.runner_routes` (runner pages),
  :mod:`muvi.study.participant_routes` (participant pages),
  :mod:`muvi.study.participant_api` (the JSON endpoints of a running trial),
  :mod:`muvi.study.online_routes` (online collection); what they share (database
  session, current runner, CSRF, rendering) in :mod:`muvi.study.deps`;
- :mod:`muvi.study.service`: accounts, studies, enrolment, trials, samples, progress;
  every database change of the server goes through it (or :mod:`muvi.study.online`);
- :mod:`muvi.study.assignment`: random but balanced assignment of items and modalities;
- :mod:`muvi.study.export`: the export in the published file formats, a query step
  (:func:`~muvi.study.export.query_study`) and the writers of :mod:`muvi.data.published`
  (CSV cells through :mod:`muvi.study.csvsafe`);
- :mod:`muvi.study.security`: runner sessions, login throttling, the media mount, the body limit;
- :mod:`muvi.study.db`, :mod:`muvi.study.models`, ``migrations/``: the database
  (SQLite or PostgreSQL) and its Alembic migrations;
- :mod:`muvi.study.localserver`: the server in a child process (tests, load benchmark).

The command line: ``muvi study serve``, ``muvi study create-runner [--admin]``,
``muvi study set-password``,
``muvi study export``.
"""
