"""The baseline for API figures: a BentoML service that parses the same request and answers
without doing any work. Same framework, same worker count, same machine, same run."""

from __future__ import annotations

from typing import Any

import bentoml


@bentoml.service(name="trivial", traffic={"timeout": 60}, workers=1)
class Trivial:
    @bentoml.api(route="/score")
    async def score(
        self, links: list[dict[str, Any]], target_description: str | None = None
    ) -> dict[str, Any]:
        return {"scored": len(links), "results": [{"index": i} for i in range(len(links))]}
