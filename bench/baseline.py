"""The bare baseline: a Daphne app that pushes one frame per POST, with nothing of Ringback in between.

    daphne bench.baseline:application

A websocket connects to /ws/<n>; POST /push/<n> with a body sends that body to socket n at once.
"""

import asyncio

sockets: dict[str, asyncio.Queue] = {}


async def application(scope, receive, send):
    if scope["type"] == "lifespan":
        return
    path = scope["path"].strip("/").split("/")
    if scope["type"] == "websocket":
        key = path[-1]
        queue: asyncio.Queue = asyncio.Queue()
        sockets[key] = queue
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        waiter = asyncio.ensure_future(receive())
        try:
            while True:
                getter = asyncio.ensure_future(queue.get())
                done, _ = await asyncio.wait({getter, waiter}, return_when=asyncio.FIRST_COMPLETED)
                if waiter in done:
                    getter.cancel()
                    message = waiter.result()
                    if message["type"] == "websocket.disconnect":
                        return
                    waiter = asyncio.ensure_future(receive())
                    continue
                await send({"type": "websocket.send", "text": getter.result()})
        finally:
            sockets.pop(key, None)
    elif scope["type"] == "http":
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        target = sockets.get(path[-1])
        if target is not None:
            target.put_nowait(body.decode())
        await send({"type": "http.response.start", "status": 204 if target else 404, "headers": []})
        await send({"type": "http.response.body", "body": b""})
