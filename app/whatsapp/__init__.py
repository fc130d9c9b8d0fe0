"""WhatsApp: the Cloud API client, the provider protocol and the classification of send errors."""

from app.whatsapp.client import CloudApiClient
from app.whatsapp.errors import ErrorKind, SendError
from app.whatsapp.provider import Provider, SendResult

__all__ = ["CloudApiClient", "ErrorKind", "Provider", "SendError", "SendResult"]
