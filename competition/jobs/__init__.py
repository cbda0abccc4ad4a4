"""Background jobs (后台任务): work too long for one request — the whole competition's ranking
workbook, a trade's certificates — done by `jiangxin worker` processes while the organizer's page
shows a progress bar they may leave and come back to.

- `tables`: one row a job (what, for whom, how far, how it ended) and the files it made. Pages
  read these rows, so any web worker reports any job, whichever process runs it.
- `queue`: the transport, SAQ over PostgreSQL or Redis (`JIANGXIN_QUEUE_URL`). A job a dead worker
  held is swept and run again (its heartbeat stops); its row says how many attempts it took.
- `kinds`: what a job can be. A higher package registers its handler under a name; this package
  never imports one (the competition core stays below registration, scoring and results).
- `service`: submit, run (inside the worker), read.
"""
