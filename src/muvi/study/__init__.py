"""The web application for running a MuVi-style annotation study (SPEC section 10).

- :mod:`muvi.study.app`: the ASGI application (:func:`~muvi.study.app.create_app`),
  runner pages, participant pages, the sample endpoint;
- :mod:`muvi.study.service`: accounts, studies, enrolment, trials, samples, progress;
- :mod:`muvi.study.assignment`: random but balanced assignment of items and modalities;
- :mod:`muvi.study.export`: the export in the published file formats (CSV cells through
  :mod:`muvi.study.csvsafe`);
- :mod:`muvi.study.security`: runner sessions, login throttling, the media mount, the body limit;
- :mod:`muvi.study.db`, :mod:`muvi.study.models`, ``migrations/``: the database
  (SQLite or PostgreSQL) and its Alembic migrations;
- :mod:`muvi.study.localserver`: the server in a child process (tests, load benchmark).

The command line: ``muvi study serve``, ``muvi study create-runner [--admin]``,
``muvi study set-password``,
``muvi study export``.
"""
