"""Delivery: the dispatcher sends the outbox through Apprise, one channel class per kind (``channels``)."""
