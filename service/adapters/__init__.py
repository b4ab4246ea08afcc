"""Adapters: the ports implemented with aiomysql, redis, aio-pika and aiohttp."""
