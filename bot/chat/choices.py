"""Which languages to offer for a text: the deployment's pairs, as workers publish them."""

from __future__ import annotations

from bot.chat.keyboards import POPULAR
from tasks.catalog import reachable
from tasks.client.catalog import CatalogReader


class LanguageChoices:
    """Likely targets for text in a language, from the workers' catalog."""

    def __init__(self, catalog: CatalogReader) -> None:
        self.catalog = catalog

    async def targets_from(self, src: str) -> list[str]:
        """Targets this deployment translates `src` into (directly or through English);
        popular languages when any pair may work or no worker has reported yet."""
        catalog = await self.catalog()
        found = reachable(catalog, src) if catalog is not None else None
        if found is None:
            return [code for code in POPULAR if code != src]
        return found
