"""A private RabbitMQ virtual host for a benchmark's own ingest processes: the jobs they publish wait in its
transcode queue, where no worker of the stack takes them (a transcode would burn the CPU being measured)."""

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

import httpx
from reelscope_cli.stack.settings import StackSettings
from reelscope_contracts.topology import EXCHANGE, TRANSCODE
from reelscope_messaging import DEAD_LETTER_EXCHANGE

GUEST = ("guest", "guest")


@contextmanager
def private_vhost(settings: StackSettings, name: str) -> Iterator[str]:
    """Create vhost `name` (guest may do anything in it) with the exchange and the transcode queue ingest
    publishes to (publishes are mandatory: unroutable would be refused); yield its AMQP URL; delete it after,
    queued jobs and all."""
    vhost = quote(name, safe="")
    with httpx.Client(base_url=f"{settings.rabbitmq_management_url}/api", auth=GUEST, timeout=30) as api:
        api.delete(f"/vhosts/{vhost}")  # left over by a crashed run: start empty
        api.put(f"/vhosts/{vhost}").raise_for_status()
        try:
            everything = {"configure": ".*", "write": ".*", "read": ".*"}
            api.put(f"/permissions/{vhost}/guest", json=everything).raise_for_status()
            api.put(f"/exchanges/{vhost}/{EXCHANGE}", json={"type": "topic", "durable": True}).raise_for_status()
            queue = quote(TRANSCODE.name, safe="")
            arguments = {"x-queue-type": "quorum", "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE}
            api.put(f"/queues/{vhost}/{queue}", json={"durable": True, "arguments": arguments}).raise_for_status()
            for key in TRANSCODE.bindings:
                binding = {"routing_key": key.value}
                api.post(f"/bindings/{vhost}/e/{EXCHANGE}/q/{queue}", json=binding).raise_for_status()
            yield f"amqp://guest:guest@127.0.0.1:{settings.amqp_port}/{vhost}"
        finally:
            api.delete(f"/vhosts/{vhost}")
