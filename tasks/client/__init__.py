"""The queue client: how any front end (the bot, the HTTP API) hands work to the workers.

Nothing here knows Telegram or HTTP. A front end saves a durable request record with
its own opaque context, submits the task, and registers one deliverer per kind of
request; the listener gives each finished task to the deliverer of its kind, once.

- `queue`: `QueueClient`, all of the below built for a front end in one call from
  Settings, and its listener from the front end's `kind → deliverer` table.
- `documents`: a document submitted and cancelled (its task ids and the worker's state
  keys stay here).
- `catalog`: `CatalogReader`, the one reader of what the workers serve.
- `requests`: `RequestRecord` and `RequestStore`, the records kept in Redis.
- `submit`: `Submitter`, which saves the record, then sends the task, and re-sends
  work a dead front end accepted but never queued, or the broker lost.
- `listener`: `ResultListener`, the pub/sub result listener with its sweeps and claims.
- `answering`: `answered()`, which a deliverer calls the moment its answer was taken.
- `admission`: the one admission policy every front end applies.
- `broker`: which task ids the broker still holds.
- `access`: the allow-list every front end applies.
- `buckets`: the Redis token buckets every front end's rate limits take from.
- `prefs`: users' and chats' languages (`/lang`), which every front end applies.
"""
