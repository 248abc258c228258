"""A WebSocket echo server for the gateway tests: listens on 127.0.0.1:$PORT,
sends every message back, answers plain HTTP GET /health with 200 (for
its check), and exits on SIGTERM."""

import asyncio
import http
import os
import signal

import websockets


async def echo(ws, path=None):
    async for message in ws:
        await ws.send(message)


async def health(path, headers):
    if path == "/health":
        return http.HTTPStatus.OK, [], b"ok\n"
    return None  # go on with the WebSocket handshake


async def main():
    stop = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set_result, None)
    async with websockets.serve(echo, "127.0.0.1", int(os.environ["PORT"]),
                                process_request=health, max_size=2**22):
        await stop


asyncio.run(main())
