"""API jobs: a batch of texts into several targets, or one document, answered as one result.

Each part has a module of its own; `ApiJobs` puts them together for the routes and the
result listener:

- `store`: a job's Redis keys and the status read model (`client`, `owner`, `file`).
- `waiters`: requests waiting on a job, woken on every change whichever replica made it.
- `texts` and `documents`: submission (and a document's cancel).
- `deliverers`: the listener's deliverers, which gather the parts into the result.
- `results`: a text job's result assembled from its parts, and failures in words.

Results are kept `REPLY_TTL` seconds.
"""

from __future__ import annotations

from collections.abc import Mapping

from api.files import FileLedger
from api.jobs.deliverers import Deliverers
from api.jobs.documents import DocumentJobs
from api.jobs.results import assemble, describe
from api.jobs.store import DETECT_KIND, DOCUMENT_KIND, PREFIX, TEXT, JobStore
from api.jobs.texts import TextJobs
from api.jobs.waiters import Waiters
from config import Settings
from tasks.client.listener import Deliver, Progress
from tasks.client.queue import QueueClient

__all__ = ["DETECT_KIND", "DOCUMENT_KIND", "PREFIX", "TEXT", "ApiJobs", "assemble", "describe"]


class ApiJobs:
    """Submits jobs, gathers their parts, and serves and streams their status."""

    def __init__(self, *, client: QueueClient, ttl: int, files: FileLedger, file_ttl: int) -> None:
        self.redis = client.redis
        self.queue = client  # the queue client its jobs go through
        self.store = JobStore(client.redis, files=files)
        self.waiters = Waiters(self.store, grouped=client.requests.grouped, ttl=ttl)
        texts = TextJobs(client.submitter, self.waiters)
        documents = DocumentJobs(self.store, self.waiters, client=client, files=files)
        deliverers = Deliverers(self.store, self.waiters, files=files, ttl=ttl, file_ttl=file_ttl)
        # What the routes call, each served by one part.
        self.submit = texts.submit
        self.translate = texts.translate
        self.submit_detect = texts.submit_detect
        self.reserve_file = documents.reserve_file
        self.release_file = documents.release_file
        self.submit_file = documents.submit_file
        self.cancel = documents.cancel
        self.status = self.store.status
        self.client = self.store.client
        self.owner = self.store.owner
        self.file = self.store.file
        self.downloaded = self.store.downloaded
        self.wait = self.waiters.wait
        self.watch = self.waiters.watch
        self.follow = self.waiters.follow
        # What the result listener hands the API's answers to, by kind of request.
        self.deliverers: Mapping[str, Deliver] = {
            TEXT: deliverers.collect,
            DOCUMENT_KIND: deliverers.collect_file,
            DETECT_KIND: deliverers.collect_detect,
        }
        self.progress: Mapping[str, Progress] = {DOCUMENT_KIND: deliverers.file_progress}

    @classmethod
    def from_settings(cls, settings: Settings, client: QueueClient) -> ApiJobs:
        """The deployment's jobs, submitted through `client` (its records under `PREFIX`)."""
        files = FileLedger(
            client.redis,
            budget=settings.api_files_max_bytes,
            per_client=settings.api_files_per_client,
        )
        return cls(
            client=client, ttl=settings.reply_ttl, files=files, file_ttl=settings.api_file_ttl
        )
