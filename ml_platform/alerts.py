"""Alerts: every event is logged; a webhook (Slack-style JSON POST) is notified when one is configured."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx

log = logging.getLogger(__name__)


def notify(webhook_url: str | None, event: dict[str, Any], timeout: float = 5.0) -> bool:
    """Log ``event`` and POST it to ``webhook_url`` if set; a failing webhook is logged, never raised.

    Returns whether the webhook accepted it. The payload carries ``text`` (what chat tools display)
    next to the structured fields.
    """
    text = f"[ml-platform] {event.get('kind', 'event')}: {event.get('summary', '')}"
    log.warning("%s %s", text, json.dumps(event, default=str))
    if not webhook_url:
        return False
    try:
        response = httpx.post(webhook_url, json={"text": text, **event}, timeout=timeout)
        response.raise_for_status()
        return True
    except httpx.HTTPError as exc:
        log.error("alert webhook %s failed: %s", webhook_url, exc)
        return False
